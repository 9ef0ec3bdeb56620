package repl

import (
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
)

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
		return writeFiles(c, t)
	}
	for _, a := range rest {
		ts, byPID, ok := contextTasks(tb, a)
		if !ok {
			fmt.Fprintf(c.Err, "files: invalid task or pid value: %s\n", a)
		}
		for _, t := range ts {
			writeTaskHeader(c.Out, t)
			if err := writeFiles(c, t); err != nil {
				return err
			}
			if byPID { // crash: an empty line after a pid's tasks, not after an address's
				fmt.Fprintln(c.Out)
			}
		}
	}
	return nil
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

// writeFiles is crash's open_files_dump for one task.
func writeFiles(c *Context, t *tasks.Task) error {
	v, err := c.Session.Values()
	if err != nil {
		return err
	}
	w := c.Out
	task, err := v.At("struct task_struct", t.Addr)
	if err != nil {
		return err
	}
	if fsAddr := member(task, "fs"); fsAddr != 0 {
		fs, err := v.At("struct fs_struct", fsAddr)
		if err != nil {
			return err
		}
		var root, pwd string
		if d := member(fs, "root.dentry"); d != 0 {
			root = dentryPath(v, d, member(fs, "root.mnt"))
		}
		if d := member(fs, "pwd.dentry"); d != 0 {
			pwd = dentryPath(v, d, member(fs, "pwd.mnt"))
		}
		fmt.Fprintf(w, "ROOT: %s    CWD: %s\n", root, pwd)
	}
	var fdt value.Value
	maxFDs := uint64(0)
	if filesAddr := member(task, "files"); filesAddr != 0 {
		files, err := v.At("struct files_struct", filesAddr)
		if err != nil {
			return err
		}
		if fdtAddr := member(files, "fdt"); fdtAddr != 0 {
			if fdt, err = v.At("struct fdtable", fdtAddr); err != nil {
				return err
			}
			maxFDs = member(fdt, "max_fds")
		}
	}
	const maxFDsLimit = 1 << 20 // sysctl fs.nr_open's ceiling
	openFDs, fds := member(fdt, "open_fds"), member(fdt, "fd")
	if maxFDs == 0 || maxFDs > maxFDsLimit || openFDs == 0 || fds == 0 {
		if maxFDs == 0 {
			fmt.Fprintln(w, "No open files")
		}
		return nil
	}
	bits := make([]byte, (maxFDs+7)/8)
	if err := v.Read(bits, openFDs, "fdtable.open_fds"); err != nil {
		return err
	}
	header := false
	for i := uint64(0); i < maxFDs; i++ {
		if bits[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if err := c.Stopped(); err != nil {
			return err
		}
		var b [8]byte
		if err := v.Read(b[:], fds+8*i, "fdtable.fd"); err != nil {
			return err
		}
		file := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		if file == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, " FD %s %s %s TYPE PATH\n", centerIn("FILE", 16, false), centerIn("DENTRY", 16, false), centerIn("INODE", 16, false))
			header = true
		}
		if err := writeFileLine(c, v, int(i), file); err != nil {
			return err
		}
	}
	if !header {
		fmt.Fprintln(w, "No open files")
	}
	return nil
}

// writeFileLine is crash's file_dump of one descriptor.
func writeFileLine(c *Context, v *value.Context, fd int, file uint64) error {
	f, err := v.At("struct file", file)
	if err != nil {
		return err
	}
	dentry := member(f, "f_path.dentry")
	if dentry == 0 {
		fmt.Fprintf(c.Out, "%3d %16x %016x %s ?    ?\n", fd, file, dentry, centerIn("?", 16, false))
		return nil
	}
	d, err := v.At("struct dentry", dentry)
	if err != nil {
		return err
	}
	inode := member(d, "d_inode")
	if inode == 0 {
		fmt.Fprintf(c.Out, "%3d %16x %16x %016x ?    ?\n", fd, file, dentry, inode)
		return nil
	}
	in, err := v.At("struct inode", inode)
	if err != nil {
		return err
	}
	mnt := rootVfsmount(v, member(f, "f_path.mnt"))
	path := dentryPath(v, dentry, mnt)
	if strings.HasPrefix(path, "/pts/") && mountDevname(v, mnt) == "devpts" {
		path = "/dev" + path
	}
	typ := "UNKN"
	switch member(in, "i_mode") & 0o170000 {
	case 0o100000:
		typ = "REG "
	case 0o120000:
		typ = "LNK "
	case 0o040000:
		typ = "DIR "
	case 0o020000:
		typ = "CHR "
	case 0o060000:
		typ = "BLK "
	case 0o010000:
		typ = "FIFO"
	case 0o140000:
		typ = "SOCK"
		if path == "/" {
			path = ""
		}
	}
	fmt.Fprintf(c.Out, "%3d %16x %16x %16x %s %s\n", fd, file, dentry, inode, typ, path)
	return nil
}

// mountDevname is a vfsmount's mount's mnt_devname.
func mountDevname(v *value.Context, vfsmnt uint64) string {
	if vfsmnt == 0 {
		return ""
	}
	m, err := v.ContainerOf(vfsmnt, "struct mount", "mnt")
	if err != nil {
		return ""
	}
	p := member(m, "mnt_devname")
	if p == 0 {
		return ""
	}
	s, _ := v.ReadCString(p, 4096, "mount.mnt_devname")
	return s
}

// rootVfsmount is crash's get_root_vfsmount: a devtmpfs mounted on a
// devtmpfs stands for its parent.
func rootVfsmount(v *value.Context, vfsmnt uint64) uint64 {
	dev := mountDevname(v, vfsmnt)
	if dev != "udev" && dev != "devtmpfs" {
		return vfsmnt
	}
	m, err := v.ContainerOf(vfsmnt, "struct mount", "mnt")
	if err != nil {
		return vfsmnt
	}
	parent := member(m, "mnt_parent")
	pm, err := v.At("struct mount", parent)
	if err != nil {
		return vfsmnt
	}
	pv, err := pm.Member("mnt")
	if err != nil {
		return vfsmnt
	}
	if mountDevname(v, pv.Addr) == dev {
		return pv.Addr
	}
	return vfsmnt
}

// maxPathDepth bounds a dentry walk (a corrupt d_parent chain).
const maxPathDepth = 4096

// dentryPath is crash's get_pathname (full): the names from dentry up to
// its file system's root, then on through the mount points of vfsmnt's
// mount and its parents. A dentry without a name (pipefs, sockfs) ends
// the walk, which leaves those paths empty, as crash prints them.
func dentryPath(v *value.Context, dentry, vfsmnt uint64) string {
	path := ""
	parent := dentry
	mnt := vfsmnt
	for range maxPathDepth {
		cur := parent
		d, err := v.At("struct dentry", cur)
		if err != nil {
			break
		}
		n := member(d, "d_name.len")
		name := member(d, "d_name.name")
		if n == 0 || name == 0 {
			break
		}
		comp, err := v.ReadCString(name, 4096, "dentry.d_name")
		if err != nil || uint64(len(comp)) != n {
			break
		}
		if cur != dentry {
			if (n > 1 || comp != "/") && !strings.HasPrefix(path, "/") {
				path = comp + "/" + path
			} else {
				path = comp + path
			}
		} else {
			path = comp
		}
		parent = member(d, "d_parent")
		if cur == parent && mnt != 0 {
			if strings.HasPrefix(path, "//") {
				path = path[1:]
			}
			m, err := v.ContainerOf(mnt, "struct mount", "mnt")
			if err != nil {
				break
			}
			parent = member(m, "mnt_mountpoint")
			mp := member(m, "mnt_parent")
			if m.Addr == mp {
				break
			}
			pm, err := v.At("struct mount", mp)
			if err != nil {
				break
			}
			pv, err := pm.Member("mnt")
			if err != nil {
				break
			}
			mnt = pv.Addr
			continue
		}
		if cur == parent || parent == 0 {
			break
		}
	}
	if path != "/" && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	return path
}
