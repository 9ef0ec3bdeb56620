package repl

import (
	"bytes"
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "task",
		Usage:   "[-R member[,member]] [-x|-d] [pid | task | member] ...",
		Summary: "task_struct and thread_info contents",
		Help: `Prints each task's header line, its task_struct and its thread_info, or
only the members -R names (looked up in both); without a task, the
current context's (see set). A pid names all of its tasks. An argument
that is a task_struct member, or has a ',', '.' or '[', is taken as -R.

  -R  members, separated by commas (member.member and member[i] too)
  -x  integers in hexadecimal
  -d  integers in decimal`,
		Options:      []string{"-R", "-x", "-d"},
		NeedsVMLinux: true,
		Run:          runTask,
	})
	delete(planned, "task")
}

func runTask(c *Context, args []string) error {
	opts, rest, err := getopt(args, "xdh", "R")
	if err != nil {
		return err
	}
	var members []string
	radix := ""
	for _, o := range opts {
		switch o.name {
		case "R":
			members = append(members, o.val)
		case "x", "h":
			if radix == "d" {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = "x"
		case "d":
			if radix == "x" {
				return errors.New("-d and -x are mutually exclusive")
			}
			radix = "d"
		}
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	syms := c.Session.Debug
	var sel []*tasks.Task
	bogus := 0
	for _, a := range rest {
		switch {
		case isNumber(a):
			ts, _, ok := contextTasks(tb, a)
			if !ok {
				bogus++
				fmt.Fprintf(c.Err, "task: invalid task or pid value: %s\n\n", a)
			}
			sel = append(sel, ts...)
		case strings.Contains(a, ",") || hasMember(syms, "task_struct", a) ||
			strings.Contains(a, ".") || strings.Contains(a, "["):
			members = append(members, a)
		default:
			fmt.Fprintf(c.Err, "task: invalid task, pid, or task_struct member: %s\n\n", a)
		}
	}
	if len(sel) == 0 && bogus == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		sel = []*tasks.Task{t}
	}
	for _, t := range sel {
		if err := c.Stopped(); err != nil {
			return err
		}
		if err := doTask(c, t, false, members, radix); err != nil {
			return err
		}
	}
	return nil
}

// hasMember reports whether struct typ has a member of that name.
func hasMember(syms *dwarfsym.File, typ, name string) bool {
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

// doTask prints one task as crash's do_task: the header (left to foreach
// when it printed one), then the members asked for, or the whole
// task_struct and thread_info, and an empty line.
func doTask(c *Context, t *tasks.Task, inForeach bool, members []string, radix string) error {
	var flags []string
	if radix != "" {
		flags = []string{"-" + radix}
	}
	addr := fmt.Sprintf("%x", t.Addr)
	syms := c.Session.Debug
	// thread_info is the first member of task_struct on kernels that keep
	// it in the task (x86-64 since 4.9), as crash's tc->thread_info.
	hasTI := syms != nil && hasStruct(syms, "thread_info")
	if len(members) > 0 {
		writeTaskHeader(c.Out, t)
		for _, m := range strings.Split(strings.Join(members, ","), ",") {
			if m == "" {
				continue
			}
			if strings.ContainsAny(m, ".[") {
				if err := runStruct(c, "struct", append(append([]string{}, flags...), "task_struct."+m, addr)); err != nil {
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
				if err := structMember(c, flags, typ, m, addr); err != nil {
					return err
				}
			}
		}
	} else {
		if !inForeach {
			writeTaskHeader(c.Out, t)
		}
		if err := runStruct(c, "struct", append(append([]string{}, flags...), "task_struct", addr)); err != nil {
			return err
		}
		if hasTI {
			fmt.Fprintln(c.Out)
			if err := runStruct(c, "struct", append(append([]string{}, flags...), "thread_info", addr)); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(c.Out)
	return nil
}

// structMember prints member m of the struct typ at addr as crash's task
// -R finds it in the whole struct's dump: the last member of a struct has
// no comma after it there.
func structMember(c *Context, flags []string, typ, m, addr string) error {
	var buf bytes.Buffer
	sub := *c
	sub.Out = &buf
	if err := runStruct(&sub, "struct", append(append([]string{}, flags...), typ+"."+m, addr)); err != nil {
		return err
	}
	out := buf.Bytes()
	if lastMember(c.Session.Debug, typ) == m && bytes.HasSuffix(out, []byte(",\n")) {
		out = append(out[:len(out)-2], '\n')
	}
	_, err := c.Out.Write(out)
	return err
}

// lastMember names the last member of struct typ.
func lastMember(syms *dwarfsym.File, typ string) string {
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

func hasStruct(syms *dwarfsym.File, name string) bool {
	_, err := syms.Type("struct " + name)
	return err == nil
}
