package repl

import (
	"fmt"

	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "vm",
		Usage:   "[pid | task] ...",
		Summary: "virtual memory",
		Help: `Shows a task's address space as crash's vm: its mm_struct, page
directory, RSS and total size, then every mapping (vm_area_struct) with
its start, end, flags and file. The mappings come from the mm's maple
tree (6.1 and later) or its mmap list. Without a task, the current
context's (see set).`,
		NeedsVMLinux: true,
		Run:          runVM,
	})
	delete(planned, "vm")
}

func runVM(c *Context, args []string) error {
	_, rest, err := getopt(args, "", "")
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		t, err := c.Session.CurrentTask()
		if err != nil {
			return err
		}
		writeTaskHeader(c.Out, t)
		return writeVM(c, t)
	}
	n := 0
	header := func(t *tasks.Task) {
		if n > 0 {
			fmt.Fprintln(c.Out)
		}
		n++
		writeTaskHeader(c.Out, t)
	}
	for _, a := range rest {
		ts, _, ok := contextTasks(tb, a)
		if !ok {
			sep := ""
			if n > 0 {
				sep = "\n"
			}
			n++
			fmt.Fprintf(c.Err, "%svm: invalid task or pid value: %s\n", sep, a)
		}
		for _, t := range ts {
			header(t)
			if err := writeVM(c, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeVM is crash's vm_area_dump for one task.
func writeVM(c *Context, t *tasks.Task) error {
	v, err := c.Session.Values()
	if err != nil {
		return err
	}
	tb, err := c.Session.TaskTable()
	if err != nil {
		return err
	}
	w := c.Out
	var pgd uint64
	if t.MM != 0 {
		mm, err := v.At("struct mm_struct", t.MM)
		if err != nil {
			return err
		}
		pgd = member(mm, "pgd")
	}
	fmt.Fprintf(w, "%s  %s  %s  %s\n", centerIn("MM", 16, false), centerIn("PGD", 16, false), centerIn("RSS", 6, false), centerIn("TOTAL_VM", 8, false))
	fmt.Fprintf(w, "%s  %s  %s  %s\n", centerIn(fmt.Sprintf("%x", t.MM), 16, false), centerIn(fmt.Sprintf("%x", pgd), 16, false),
		centerIn(fmt.Sprintf("%dk", t.RSS*tb.PageSize/1024), 6, false), centerIn(fmt.Sprintf("%dk", t.TotalVM*tb.PageSize/1024), 8, false))
	if t.MM == 0 {
		return nil
	}
	vmas, err := tasks.VMAs(v, t.MM)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s %s %s  FLAGS FILE\n", centerIn("VMA", 16, false), centerIn("START", 10, true), centerIn("END", 10, true))
	for _, m := range vmas {
		if err := c.Stopped(); err != nil {
			return err
		}
		path := ""
		if m.File != 0 {
			if f, err := v.At("struct file", m.File); err == nil {
				if d := member(f, "f_path.dentry"); d != 0 {
					path = dentryPath(v, d, member(f, "f_path.mnt"))
				}
			}
		}
		fmt.Fprintf(w, "%s %10x %10x %6x %s\n", centerIn(fmt.Sprintf("%x", m.Addr), 16, false), m.Start, m.End, m.Flags, path)
	}
	return nil
}
