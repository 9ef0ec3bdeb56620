package repl

import (
	"bytes"
	"debug/dwarf"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

// This file prints the kernel model's per-task views in crash's layouts:
// the task header line, files, sig, vm, set's context and task's struct
// dump. The commands and foreach share them; each takes a value of
// package tasks and only formats it.

// writeTaskHeader prints crash's task header line.
func writeTaskHeader(w io.Writer, t *tasks.Task) {
	fmt.Fprintf(w, "PID: %-7d  TASK: %016x  CPU: %-3d  COMMAND: \"%s\"\n", t.PID, t.Addr, t.CPU, t.Comm)
}

// centerIn centers s in width columns as crash's mkstring(CENTER): an odd
// leftover space goes left when rjust, right otherwise.
func centerIn(s string, width int, rjust bool) string {
	extra := width - len(s)
	if extra <= 0 {
		return s
	}
	left := extra / 2
	if extra%2 == 1 && rjust {
		left++
	}
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", extra-left)
}

// member reads an integer or pointer member of v; 0 when it is absent.
func member(v value.Value, path string) uint64 {
	m, err := v.Member(path)
	if err != nil {
		return 0
	}
	x, _ := m.Uint()
	return x
}

// showFiles prints the model's open files of t in crash's layout.
func showFiles(c *Context, t *tasks.Task) error {
	v, err := c.Session.Values()
	if err != nil {
		return err
	}
	fs, err := tasks.Files(v, t)
	return writeFileSet(c.Out, fs, err)
}

// showSignals prints the model's signal state of t in crash's layout.
func showSignals(c *Context, t *tasks.Task) error {
	k, err := c.Session.kernel()
	if err != nil {
		return err
	}
	st, err := k.Signals(t)
	return writeSignalState(c.Out, st, err)
}

// showVM prints the model's address space of t in crash's layout.
func showVM(c *Context, t *tasks.Task) error {
	v, err := c.Session.Values()
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	as, err := tb.AddressSpace(v, t)
	return writeAddressSpace(c.Out, as, err)
}

// writeFileSet prints crash's open_files_dump of one task from the
// model's FileSet; err (what stopped the read) is returned after what
// was read.
func writeFileSet(w io.Writer, fs *tasks.FileSet, err error) error {
	if fs == nil {
		return err
	}
	if fs.FS != 0 {
		fmt.Fprintf(w, "ROOT: %s    CWD: %s\n", fs.Root, fs.Cwd)
	}
	if len(fs.Open) == 0 {
		if err == nil {
			fmt.Fprintln(w, "No open files")
		}
		return err
	}
	fmt.Fprintf(w, " FD %s %s %s TYPE PATH\n", centerIn("FILE", 16, false), centerIn("DENTRY", 16, false), centerIn("INODE", 16, false))
	for _, f := range fs.Open {
		switch {
		case f.Dentry == 0:
			fmt.Fprintf(w, "%3d %16x %016x %s ?    ?\n", f.FD, f.File, f.Dentry, centerIn("?", 16, false))
		case f.Inode == 0:
			fmt.Fprintf(w, "%3d %16x %16x %016x ?    ?\n", f.FD, f.File, f.Dentry, f.Inode)
		default:
			fmt.Fprintf(w, "%3d %16x %16x %16x %-4s %s\n", f.FD, f.File, f.Dentry, f.Inode, f.Type, f.Path)
		}
	}
	return err
}

// writeSignalState prints crash's dump_signal_data of one task from the
// model's SignalState: the thread group's dispositions, the task's
// pending and blocked signals, then the group's shared pending ones.
func writeSignalState(w io.Writer, st *tasks.SignalState, err error) error {
	if st == nil {
		return err
	}
	fmt.Fprintf(w, "SIGNAL_STRUCT: %x  ", st.SignalStruct)
	if st.SignalStruct == 0 {
		fmt.Fprintln(w)
		return err
	}
	fmt.Fprintf(w, "NR_THREADS: %d\n", st.NrThreads)
	fmt.Fprintf(w, " SIG %s %s %s %s\n", centerIn("SIGACTION", 16, false), fmt.Sprintf("%10s", "HANDLER"),
		centerIn("MASK", 16, false), fmt.Sprintf("%-16s", "FLAGS"))
	for _, a := range st.Actions {
		hs := a.HandlerName
		if hs == "" {
			hs = fmt.Sprintf("%x", a.Handler)
		}
		pad := ""
		if a.Signal < 10 {
			pad = " "
		}
		fmt.Fprintf(w, "%s[%d] %-16x %10s %016x %x ", pad, a.Signal, a.Addr, hs, a.Mask, a.Flags)
		if len(a.FlagNames) > 0 {
			fmt.Fprintf(w, "(%s)", strings.Join(a.FlagNames, "|"))
		}
		fmt.Fprintln(w)
	}
	if err != nil && st.Actions == nil {
		return err
	}
	pending := "no"
	if st.Pending {
		pending = "yes"
	}
	fmt.Fprintf(w, "SIGPENDING: %s\n", pending)
	fmt.Fprintf(w, "   BLOCKED: %016x\n", st.Blocked)
	fmt.Fprintln(w, "PRIVATE_PENDING")
	fmt.Fprintf(w, "    SIGNAL: %016x\n", st.Private.Signal)
	writeSigQueue(w, st.Private.Queue)
	fmt.Fprintln(w, "SHARED_PENDING")
	fmt.Fprintf(w, "    SIGNAL: %016x\n", st.Shared.Signal)
	writeSigQueue(w, st.Shared.Queue)
	return err
}

// writeSigQueue prints a pending queue: each signal number and the
// address of its siginfo.
func writeSigQueue(w io.Writer, q []tasks.QueuedSignal) {
	if len(q) == 0 {
		fmt.Fprintln(w, "  SIGQUEUE: (empty)")
		return
	}
	fmt.Fprintf(w, "  SIGQUEUE:  SIG  %s\n", centerIn("SIGINFO", 16, false))
	for _, e := range q {
		fmt.Fprintf(w, "             %3d  %x\n", e.Signal, e.SigInfo)
	}
}

// writeAddressSpace prints crash's vm_area_dump of one task from the
// model's AddressSpace.
func writeAddressSpace(w io.Writer, as *tasks.AddressSpace, err error) error {
	if as == nil {
		return err
	}
	fmt.Fprintf(w, "%s  %s  %s  %s\n", centerIn("MM", 16, false), centerIn("PGD", 16, false), centerIn("RSS", 6, false), centerIn("TOTAL_VM", 8, false))
	fmt.Fprintf(w, "%s  %s  %s  %s\n", centerIn(fmt.Sprintf("%x", as.MM), 16, false), centerIn(fmt.Sprintf("%x", as.PGD), 16, false),
		centerIn(fmt.Sprintf("%dk", as.RSS), 6, false), centerIn(fmt.Sprintf("%dk", as.TotalVM), 8, false))
	if as.MM == 0 || err != nil && len(as.Mappings) == 0 {
		return err
	}
	fmt.Fprintf(w, "%s %s %s  FLAGS FILE\n", centerIn("VMA", 16, false), centerIn("START", 10, true), centerIn("END", 10, true))
	for _, m := range as.Mappings {
		fmt.Fprintf(w, "%s %10x %10x %6x %s\n", centerIn(fmt.Sprintf("%x", m.VMA), 16, false), m.Start, m.End, m.Flags, m.Path)
	}
	return err
}

// writeContext prints a task as crash's set does.
func writeContext(w io.Writer, t *tasks.Task, tr *tasks.Tracer) {
	fmt.Fprintf(w, "    PID: %d\n", t.PID)
	fmt.Fprintf(w, "COMMAND: \"%s\"\n", t.Comm)
	fmt.Fprintf(w, "   TASK: %x  ", t.Addr)
	if n := len(tr.Table.ByPID(t.PID)); n > 1 {
		fmt.Fprintf(w, "(1 of %d)  ", n)
	}
	fmt.Fprintf(w, "[THREAD_INFO: %x]\n", t.Addr)
	fmt.Fprintf(w, "    CPU: %d\n", t.CPU)
	note := ""
	switch {
	case tr.PanicTask() == t:
		note = "(PANIC)"
		if panicBySysrq(tr.Backtrace(t)) {
			note = "(SYSRQ)"
		}
	case t.Active:
		note = "(ACTIVE)"
	}
	fmt.Fprintf(w, "  STATE: %s %s\n", tasks.StateName(t.State), note)
}

// panicBySysrq says whether crash marks the panic task "(SYSRQ)": its
// search of the stack for where the trace starts met sysrq_handle_crash
// before any kexec mark, that is, sysrq-c panicked a machine with no
// kdump kernel loaded (QEMU's dump-guest-memory after the panic). Where
// kdump ran, the trace starts at machine_kexec, deeper on the stack.
func panicBySysrq(bt *tasks.Backtrace) bool {
	if bt.Origin != arch.OriginStackMark || len(bt.Frames) == 0 || arch.KexecMark(bt.Frames[0].Function) {
		return false
	}
	for _, f := range bt.Frames {
		if f.Function == "sysrq_handle_crash" {
			return true
		}
	}
	return false
}

// doTask prints one task as crash's do_task: the header (left to foreach
// when it printed one), then the members asked for, or the whole
// task_struct and thread_info, and an empty line. radix is "", "x" or
// "d".
func doTask(c *Context, t *tasks.Task, inForeach bool, members []string, radix string) error {
	f := value.Format{Hex: radix == "x"}
	syms := c.Session.info()
	vals, err := c.Session.Values()
	if err != nil {
		return err
	}
	// thread_info is the first member of task_struct on kernels that keep
	// it in the task (x86-64 since 4.9), as crash's tc->thread_info.
	hasTI := hasStruct(syms, "thread_info")
	if len(members) > 0 {
		writeTaskHeader(c.Out, t)
		for _, m := range strings.Split(strings.Join(members, ","), ",") {
			if m == "" {
				continue
			}
			if strings.ContainsAny(m, ".[") {
				if err := writeStructMembers(c.Out, vals, "task_struct", t.Addr, m, f); err != nil {
					return err
				}
				continue
			}
			inTask, inTI := hasMember(syms, "task_struct", m), hasTI && hasMember(syms, "thread_info", m)
			if !inTask && !inTI {
				fmt.Fprintf(c.Err, "task: %s: not a task_struct or thread_info member\n", m)
				continue
			}
			for _, typ := range []string{"task_struct", "thread_info"} {
				if typ == "task_struct" && !inTask || typ == "thread_info" && !inTI {
					continue
				}
				if err := structMember(c.Out, vals, syms, typ, t.Addr, m, f); err != nil {
					return err
				}
			}
		}
	} else {
		if !inForeach {
			writeTaskHeader(c.Out, t)
		}
		if err := writeWholeStruct(c.Out, vals, "task_struct", t.Addr, f); err != nil {
			return err
		}
		if hasTI {
			fmt.Fprintln(c.Out)
			if err := writeWholeStruct(c.Out, vals, "thread_info", t.Addr, f); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(c.Out)
	return nil
}

// typedStruct is the struct typ at addr, as crash's "struct typ addr".
func typedStruct(vals *value.Context, typ string, addr uint64) (value.Value, error) {
	t, err := vals.Types.Type("struct " + typ)
	if err != nil {
		return value.Value{}, fmt.Errorf("invalid data structure reference: %s", typ)
	}
	return vals.Typed(t, addr, "struct "+typ), nil
}

// writeWholeStruct prints the struct typ at addr as crash's struct does.
func writeWholeStruct(w io.Writer, vals *value.Context, typ string, addr uint64, f value.Format) error {
	v, err := typedStruct(vals, typ, addr)
	if err != nil {
		return err
	}
	out, err := v.WriteStruct(f)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}

// writeStructMembers prints member path m of the struct typ at addr as
// crash's "struct typ.m addr" does.
func writeStructMembers(w io.Writer, vals *value.Context, typ string, addr uint64, m string, f value.Format) error {
	v, err := typedStruct(vals, typ, addr)
	if err != nil {
		return err
	}
	out, err := v.WriteMembers([]string{m}, f)
	io.WriteString(w, out)
	return err
}

// structMember prints member m of the struct typ at addr as crash's task
// -R finds it in the whole struct's dump: the last member of a struct has
// no comma after it there.
func structMember(w io.Writer, vals *value.Context, syms kernelInfo, typ string, addr uint64, m string, f value.Format) error {
	var buf bytes.Buffer
	if err := writeStructMembers(&buf, vals, typ, addr, m, f); err != nil {
		return err
	}
	out := buf.Bytes()
	if lastMember(syms, typ) == m && bytes.HasSuffix(out, []byte(",\n")) {
		out = append(out[:len(out)-2], '\n')
	}
	_, err := w.Write(out)
	return err
}

// hasMember reports whether struct typ has a member of that name.
func hasMember(syms kernelInfo, typ, name string) bool {
	if syms == nil {
		return false
	}
	t, err := syms.Type("struct " + typ)
	if err != nil {
		return false
	}
	_, err = dwarfsym.FindMember(t, name)
	return err == nil
}

// lastMember names the last member of struct typ.
func lastMember(syms kernelInfo, typ string) string {
	t, err := syms.Type("struct " + typ)
	if err != nil {
		return ""
	}
	st, ok := dwarfsym.Strip(t).(*dwarf.StructType)
	if !ok || len(st.Field) == 0 {
		return ""
	}
	return st.Field[len(st.Field)-1].Name
}

func hasStruct(syms kernelInfo, name string) bool {
	_, err := syms.Type("struct " + name)
	return err == nil
}
