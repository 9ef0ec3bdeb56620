package repl

import "fmt"

func init() {
	register(&Command{
		Name:    "files",
		Usage:   "[pid | task] ...",
		Summary: "open files",
		Help: `Shows a task's root and current directory and its open files as crash's
files: for each descriptor the file, dentry and inode addresses, the type
(REG DIR CHR BLK FIFO LNK SOCK) and the path, built from the dentries up
to the root, across mount points. Without a task, the current context's
(see set).`,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runFiles,
	})
	delete(planned, "files")
}

func runFiles(c *Context, args []string) error {
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
		return showFiles(c, t)
	}
	for _, a := range rest {
		ts, byPID, ok := contextTasks(tb, a)
		if !ok {
			fmt.Fprintf(c.Err, "files: invalid task or pid value: %s\n", a)
		}
		for _, t := range ts {
			writeTaskHeader(c.Out, t)
			if err := showFiles(c, t); err != nil {
				return err
			}
			if byPID { // crash: an empty line after a pid's tasks, not after an address's
				fmt.Fprintln(c.Out)
			}
		}
	}
	return nil
}
