package repl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(&Command{
		Name:    "sys",
		Usage:   "[-c [name|number]]",
		Summary: "system data",
		Help: `Displays crash's system block: the vmlinux and dump files, CPUs, the
crash date, the kernel's uname fields (read from init_uts_ns through
VMCOREINFO), memory size and the panic message (found in the kernel log
as crash finds it). UPTIME, LOAD AVERAGE and TASKS need the vmlinux and
say so without one.

   -c [name|number]  the system call table: each entry's function and the
                     source file and line that defines it (as crash, the
                     first line of the function outside include/*.h),
                     or only the entries whose name contains name, or
                     the one numbered number.`,
		Run: runSys,
	})
}

// unknownNoVMLinux marks a sys field that needs a vmlinux.
const unknownNoVMLinux = "(unknown without vmlinux)"

func runSys(c *Context, args []string) error {
	if len(args) > 0 && args[0] == "-c" {
		return runSysCalls(c, args[1:])
	}
	if len(args) > 0 {
		return usagef("sys takes no arguments but -c (-t, -i and config are not supported)")
	}
	s := c.Session
	d := s.Dump
	w := c.Out
	sum := s.SystemSummary()
	kernel := s.VMLinux
	if kernel == "" {
		kernel = "(no vmlinux given)"
	}
	mark := ""
	if sum.Taint != nil && *sum.Taint != 0 {
		mark = "  [TAINTED]" // crash's is_kernel_tainted
	}
	fmt.Fprintf(w, "      KERNEL: %s%s\n", kernel, mark)
	paths := d.Paths()
	if len(paths) > 1 {
		// crash's show_split_dumpfiles: one file a line.
		mark := ""
		if d.DumpLevel() > 0 {
			mark = " [PARTIAL DUMP]"
		}
		for i, p := range paths {
			label := "              "
			if i == 0 {
				label = "   DUMPFILES: "
			}
			fmt.Fprintf(w, "%s%s%s\n", label, p, mark)
		}
	} else {
		writeDumpFile(w, d)
	}
	if sum.OfflineCPUs > 0 {
		fmt.Fprintf(w, "        CPUS: %d [OFFLINE: %d]\n", sum.CPUs, sum.OfflineCPUs)
	} else {
		fmt.Fprintf(w, "        CPUS: %d\n", sum.CPUs)
	}
	if sum.Date != nil {
		fmt.Fprintf(w, "        DATE: %s\n", crashDate(*sum.Date))
	} else {
		fmt.Fprintf(w, "        DATE: (unknown)\n")
	}
	unknown := func(field string) string {
		if !s.hasTypes() {
			return unknownNoVMLinux
		}
		return "(unknown: " + sum.Unknown[field] + ")"
	}
	if sum.UptimeSeconds != nil {
		fmt.Fprintf(w, "      UPTIME: %s\n", formatUptime(*sum.UptimeSeconds))
	} else {
		fmt.Fprintf(w, "      UPTIME: %s\n", unknown("uptime_seconds"))
	}
	if sum.LoadAverage != nil {
		fmt.Fprintf(w, "LOAD AVERAGE: %s\n", sum.LoadAverage)
	} else {
		fmt.Fprintf(w, "LOAD AVERAGE: %s\n", unknown("load_average"))
	}
	if sum.Tasks != nil {
		fmt.Fprintf(w, "       TASKS: %d\n", *sum.Tasks)
	} else {
		fmt.Fprintf(w, "       TASKS: %s\n", unknown("tasks"))
	}
	var uts system.Utsname
	if sum.Uname != nil {
		uts = *sum.Uname
	}
	fmt.Fprintf(w, "    NODENAME: %s\n", orUnknown(uts.Nodename))
	fmt.Fprintf(w, "     RELEASE: %s\n", orUnknown(sum.Release))
	fmt.Fprintf(w, "     VERSION: %s\n", orUnknown(uts.Version))
	mhz := "unknown"
	if sum.CPUMHz != nil {
		mhz = strconv.FormatUint(*sum.CPUMHz, 10)
	}
	fmt.Fprintf(w, "     MACHINE: %s  (%s Mhz)\n", orUnknown(sum.Machine), mhz)
	if sum.MemoryBytes != nil {
		fmt.Fprintf(w, "      MEMORY: %s\n", memorySize(*sum.MemoryBytes))
	} else {
		fmt.Fprintf(w, "      MEMORY: (unknown: %s)\n", sum.Unknown["memory_bytes"])
	}
	suffix := ""
	if sum.Panic.Oops {
		suffix = " (check log for details)"
	}
	fmt.Fprintf(w, "       PANIC: %q%s\n", sum.Panic.Message, suffix)
	if why, ok := sum.Unknown["uname"]; ok {
		if _, err := d.VMCOREINFO(); err != nil && !s.hasTypes() {
			why = err.Error() // the dump's own words for what it lacks
		}
		fmt.Fprintf(c.Err, "sys: uname fields: %s\n", why)
	}
	return nil
}

// formatUptime is crash's convert_time: [N days, ]HH:MM:SS.
func formatUptime(sec uint64) string {
	days := sec / 86400
	sec %= 86400
	out := fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec%3600/60, sec%60)
	if days > 0 {
		out = fmt.Sprintf("%d days, %s", days, out)
	}
	return out
}

func writeDumpFile(w io.Writer, d *vmcore.Dump) {
	paths := d.Paths()
	label := "    DUMPFILE: "
	flags := ""
	if d.Format() != vmcore.FormatELF && (d.DumpLevel() > 0 || d.Incomplete()) {
		flags = " "
		if d.DumpLevel() > 0 {
			flags += " [PARTIAL DUMP]"
		}
		if d.Incomplete() {
			flags += " [INCOMPLETE]"
		}
	} else if d.Incomplete() {
		flags = "  [INCOMPLETE]"
	}
	fmt.Fprintf(w, "%s%s%s\n", label, strings.Join(paths, " "), flags)
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// crashDate formats as crash's ctime_tz: strftime "%a %b %e %T %Z %Y" in
// local time.
func crashDate(t time.Time) string {
	return t.Local().Format("Mon Jan _2 15:04:05 MST 2006")
}

// memorySize formats as crash's get_memory_size: rounded up to the next
// GiB when within 64 MiB of it, then "%.1f GB" / "%.1f MB" / "%d KB"
// with a trailing ".0" dropped.
func memorySize(total uint64) string {
	const gb, mb = 1 << 30, 1 << 20
	if next := (total + gb - 1) / gb * gb; next-total <= 64*mb {
		total = next
	}
	var s string
	switch {
	case total == 0:
		return "0"
	case total >= gb:
		s = fmt.Sprintf("%.1f GB", float64(total)/gb)
	case total >= mb:
		s = fmt.Sprintf("%.1f MB", float64(total)/mb)
	default:
		return fmt.Sprintf("%d KB", total/1024)
	}
	return strings.Replace(s, ".0 ", " ", 1)
}

const sysCallHeader = "NUM  SYSTEM CALL                FILE AND LINE NUMBER\n"

// runSysCalls prints sys_call_table as crash's sys -c does.
func runSysCalls(c *Context, specs []string) error {
	s := c.Session
	vals, err := s.Values()
	if err != nil {
		return err
	}
	table, ok := s.info().Lookup("sys_call_table")
	if !ok {
		return fmt.Errorf("sys_call_table: symbol not found")
	}
	t := s.crashSymbols()
	n := 0 // the symbol's size
	if table.Size == 0 {
		// crash: up to the next symbol's address.
		n = 256
		i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > table.Addr })
		if i < len(t.syms) {
			n = int((t.syms[i].Addr - table.Addr) / 8)
		}
	}
	calls, err := system.SysCallTable(vals, n)
	if err != nil {
		var re *value.ReadError
		if errors.As(err, &re) {
			return readError(kernelVirtual, re.Addr, "sys_call_table", re.Err)
		}
		return err
	}
	if s.Debug == nil {
		// kallsyms keeps no sizes: the table was taken to run to the
		// next symbol, over the alignment after it. No entry is NULL
		// (an unused number points at sys_ni_syscall): drop the zeros
		// at the end.
		for len(calls) > 0 && calls[len(calls)-1].Addr == 0 {
			calls = calls[:len(calls)-1]
		}
	}
	buildDir := ""
	if sched, ok := s.info().Lookup("schedule"); ok {
		l := s.sourceLine(sched.Addr)
		if i := strings.Index(l, "/kernel/"); i >= 0 {
			buildDir = l[:i]
		} else if i := strings.Index(l, "/./arch/"); i >= 0 {
			buildDir = l[:i]
		}
	}
	var out bytes.Buffer
	out.WriteString(sysCallHeader)
	for _, call := range calls {
		if err := c.Stopped(); err != nil {
			return err
		}
		i, fn := call.Num, call.Addr
		sym, off, ok := t.search(fn)
		if !ok || off != 0 {
			fmt.Fprintf(&out, "%3d  invalid sys_call_table entry: %x ", i, fn)
			if name := s.crashSymbolic(fn); name != "" {
				fmt.Fprintf(&out, "(%s)\n", name)
			} else {
				out.WriteString("\n")
			}
			continue
		}
		name := sym.shown
		if call.NotImplemented {
			name = "sys_ni_syscall"
		}
		fmt.Fprintf(&out, "%3d  %-26s ", i, name)
		out.WriteString(s.sysCallSource(t, fn, buildDir))
		out.WriteString("\n")
	}
	if len(specs) == 0 {
		_, err := c.Out.Write(out.Bytes())
		return err
	}
	lines := strings.SplitAfter(out.String(), "\n")[1:]
	for _, spec := range specs {
		number := spec != "" && strings.Trim(spec, "0123456789") == ""
		if number {
			v, _ := strconv.Atoi(spec)
			spec = strconv.Itoa(v)
		}
		header := false
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) < 2 || !(number && f[0] == spec || !number && strings.Contains(f[1], spec)) {
				continue
			}
			if !header {
				io.WriteString(c.Out, sysCallHeader)
				header = true
			}
			io.WriteString(c.Out, line)
			if number {
				break
			}
		}
	}
	return nil
}

// sysCallSource is the position crash shows for a system call: the first
// address of the function, up to the next symbol, whose line is not an
// include/ header's, from the build directory on ("../fs/read_write.c:
// 621").
func (s *Session) sysCallSource(t *crashSymbolTable, fn uint64, buildDir string) string {
	// Up to crash's next_symbol: the first with a higher address.
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > fn })
	if i >= len(t.syms) {
		return ""
	}
	next := t.syms[i].Addr
	for addr := fn; addr < next && addr-fn < 1<<16; addr++ {
		l := s.sourceLine(addr)
		if strings.Contains(l, ".h: ") && strings.Contains(l, "include/") {
			continue
		}
		if j := strings.Index(l, buildDir); j >= 0 {
			if l == "" {
				return ""
			}
			return ".." + l[j+len(buildDir):]
		}
	}
	return ""
}
