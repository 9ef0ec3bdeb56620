package tasks

import (
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
)

// FileSet is a task's file-system context and its open files, as crash's
// files shows them.
type FileSet struct {
	Task arch.Word `json:"task"`
	// FS is the task's fs_struct (0 for a task without one, such as an
	// exiting task); Root and Cwd are its root and current directory,
	// paths across mount points.
	FS   arch.Word `json:"fs"`
	Root string    `json:"root"`
	Cwd  string    `json:"cwd"`
	// Files is the files_struct, MaxFDs its descriptor table's size.
	Files  arch.Word `json:"files"`
	MaxFDs uint64    `json:"max_fds"`
	// Open are the open descriptors, lowest first.
	Open []OpenFile `json:"open"`
}

// OpenFile is one open file descriptor.
type OpenFile struct {
	FD     int       `json:"fd"`
	File   arch.Word `json:"file"`   // struct file
	Dentry arch.Word `json:"dentry"` // 0 when the file has none
	Inode  arch.Word `json:"inode"`  // 0 when the dentry has none
	// Type is the inode's file type: REG DIR CHR BLK FIFO LNK SOCK, or
	// UNKN; "" without an inode.
	Type string `json:"type"`
	Path string `json:"path"`
}

// maxFDsLimit bounds a descriptor table: sysctl fs.nr_open's ceiling.
const maxFDsLimit = 1 << 20

// maxPathDepth bounds a dentry walk (a corrupt d_parent chain).
const maxPathDepth = 4096

// u64Member reads an integer or pointer member of v; 0 when it is absent
// or unreadable.
func u64Member(v value.Value, path string) uint64 {
	x, _ := readMember(v, path)
	return x
}

// readMember reads an integer or pointer member of v: 0 and no error
// when the kernel's type has no such member, an error naming the address
// when its memory cannot be read.
func readMember(v value.Value, path string) (uint64, error) {
	m, err := v.Member(path)
	if err != nil {
		return 0, nil
	}
	return m.Uint()
}

// readWord is readMember as an arch.Word.
func readWord(v value.Value, path string) (arch.Word, error) {
	x, err := readMember(v, path)
	return arch.Word(x), err
}

// Files reads t's root and current directory and its open files, as
// crash's open_files_dump. On an unreadable structure it returns what
// was read before it, with an error naming the address.
func Files(c *value.Context, t *Task) (*FileSet, error) {
	fs := &FileSet{Task: arch.Word(t.Addr)}
	task, err := c.At("struct task_struct", t.Addr)
	if err != nil {
		return nil, err
	}
	if fs.FS, err = readWord(task, "fs"); err != nil {
		return nil, err
	}
	if fs.FS != 0 {
		f, err := c.At("struct fs_struct", uint64(fs.FS))
		if err != nil {
			return fs, err
		}
		if _, err := readMember(f, "root.dentry"); err != nil {
			return fs, err
		}
		if d := u64Member(f, "root.dentry"); d != 0 {
			fs.Root = DentryPath(c, d, u64Member(f, "root.mnt"))
		}
		if d := u64Member(f, "pwd.dentry"); d != 0 {
			fs.Cwd = DentryPath(c, d, u64Member(f, "pwd.mnt"))
		}
	}
	if fs.Files, err = readWord(task, "files"); err != nil || fs.Files == 0 {
		return fs, err
	}
	files, err := c.At("struct files_struct", uint64(fs.Files))
	if err != nil {
		return fs, err
	}
	fdtAddr, err := readMember(files, "fdt")
	if err != nil || fdtAddr == 0 {
		return fs, err
	}
	fdt, err := c.At("struct fdtable", fdtAddr)
	if err != nil {
		return fs, err
	}
	if fs.MaxFDs, err = readMember(fdt, "max_fds"); err != nil || fs.MaxFDs == 0 {
		return fs, err
	}
	if fs.MaxFDs > maxFDsLimit {
		return fs, fmt.Errorf("fdtable %#x: implausible max_fds %d", fdtAddr, fs.MaxFDs)
	}
	openFDs, fds := u64Member(fdt, "open_fds"), u64Member(fdt, "fd")
	if openFDs == 0 || fds == 0 {
		return fs, fmt.Errorf("fdtable %#x: no open_fds bitmap or fd array", fdtAddr)
	}
	bits := make([]byte, (fs.MaxFDs+7)/8)
	if err := c.Read(bits, openFDs, "fdtable.open_fds"); err != nil {
		return fs, err
	}
	bo := byteOrder(c)
	for i := uint64(0); i < fs.MaxFDs; i++ {
		if bits[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		var b [8]byte
		if err := c.Read(b[:], fds+8*i, "fdtable.fd"); err != nil {
			return fs, err
		}
		file := bo.Uint64(b[:])
		if file == 0 {
			continue
		}
		of, err := OpenFileAt(c, int(i), file)
		if err != nil {
			return fs, err
		}
		fs.Open = append(fs.Open, of)
	}
	return fs, nil
}

// OpenFileAt describes the struct file at file, open as descriptor fd:
// its dentry, inode, type and path, as crash's file_dump. A device
// pseudo-terminal's path is given under /dev, as crash shows it.
func OpenFileAt(c *value.Context, fd int, file uint64) (OpenFile, error) {
	of := OpenFile{FD: fd, File: arch.Word(file)}
	f, err := c.At("struct file", file)
	if err != nil {
		return of, err
	}
	if of.Dentry, err = readWord(f, "f_path.dentry"); err != nil || of.Dentry == 0 {
		return of, err
	}
	d, err := c.At("struct dentry", uint64(of.Dentry))
	if err != nil {
		return of, err
	}
	if of.Inode, err = readWord(d, "d_inode"); err != nil || of.Inode == 0 {
		return of, err
	}
	in, err := c.At("struct inode", uint64(of.Inode))
	if err != nil {
		return of, err
	}
	mode, err := readMember(in, "i_mode")
	if err != nil {
		return of, err
	}
	mnt := rootVfsmount(c, u64Member(f, "f_path.mnt"))
	of.Path = DentryPath(c, uint64(of.Dentry), mnt)
	if strings.HasPrefix(of.Path, "/pts/") && mountDevname(c, mnt) == "devpts" {
		of.Path = "/dev" + of.Path
	}
	of.Type = FileType(mode)
	if of.Type == "SOCK" && of.Path == "/" {
		of.Path = ""
	}
	return of, nil
}

// FileType names the file type of an inode's i_mode as crash does: REG
// DIR CHR BLK FIFO LNK SOCK, or UNKN.
func FileType(mode uint64) string {
	switch mode & 0o170000 {
	case 0o100000:
		return "REG"
	case 0o120000:
		return "LNK"
	case 0o040000:
		return "DIR"
	case 0o020000:
		return "CHR"
	case 0o060000:
		return "BLK"
	case 0o010000:
		return "FIFO"
	case 0o140000:
		return "SOCK"
	}
	return "UNKN"
}

// FilePath is the path of the struct file at file (its f_path), across
// mount points; "" when it has no dentry or cannot be read.
func FilePath(c *value.Context, file uint64) string {
	if file == 0 {
		return ""
	}
	f, err := c.At("struct file", file)
	if err != nil {
		return ""
	}
	d := u64Member(f, "f_path.dentry")
	if d == 0 {
		return ""
	}
	return DentryPath(c, d, u64Member(f, "f_path.mnt"))
}

// mountDevname is a vfsmount's mount's mnt_devname.
func mountDevname(c *value.Context, vfsmnt uint64) string {
	if vfsmnt == 0 {
		return ""
	}
	m, err := c.ContainerOf(vfsmnt, "struct mount", "mnt")
	if err != nil {
		return ""
	}
	p := u64Member(m, "mnt_devname")
	if p == 0 {
		return ""
	}
	s, _ := c.ReadCString(p, 4096, "mount.mnt_devname")
	return s
}

// rootVfsmount is crash's get_root_vfsmount: a devtmpfs mounted on a
// devtmpfs stands for its parent.
func rootVfsmount(c *value.Context, vfsmnt uint64) uint64 {
	dev := mountDevname(c, vfsmnt)
	if dev != "udev" && dev != "devtmpfs" {
		return vfsmnt
	}
	m, err := c.ContainerOf(vfsmnt, "struct mount", "mnt")
	if err != nil {
		return vfsmnt
	}
	pm, err := c.At("struct mount", u64Member(m, "mnt_parent"))
	if err != nil {
		return vfsmnt
	}
	pv, err := pm.Member("mnt")
	if err != nil {
		return vfsmnt
	}
	if mountDevname(c, pv.Addr) == dev {
		return pv.Addr
	}
	return vfsmnt
}

// DentryPath is crash's get_pathname (full): the names from dentry up to
// its file system's root, then on through the mount points of vfsmnt's
// mount (a struct vfsmount; 0 stays in the dentry's file system) and its
// parents. A dentry without a name (pipefs, sockfs) ends the walk, which
// leaves those paths empty, as crash prints them. The walk is bounded
// and stops at a loop; an unreadable dentry or mount ends it with the
// path found so far.
func DentryPath(c *value.Context, dentry, vfsmnt uint64) string {
	path := ""
	parent := dentry
	mnt := vfsmnt
	type step struct{ dentry, mnt uint64 }
	seen := map[step]bool{}
	for range maxPathDepth {
		cur := parent
		if seen[step{cur, mnt}] {
			break // a loop in d_parent or mnt_parent links (corrupt)
		}
		seen[step{cur, mnt}] = true
		d, err := c.At("struct dentry", cur)
		if err != nil {
			break
		}
		n := u64Member(d, "d_name.len")
		name := u64Member(d, "d_name.name")
		if n == 0 || name == 0 {
			break
		}
		comp, err := c.ReadCString(name, 4096, "dentry.d_name")
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
		parent = u64Member(d, "d_parent")
		if cur == parent && mnt != 0 {
			if strings.HasPrefix(path, "//") {
				path = path[1:]
			}
			m, err := c.ContainerOf(mnt, "struct mount", "mnt")
			if err != nil {
				break
			}
			parent = u64Member(m, "mnt_mountpoint")
			mp := u64Member(m, "mnt_parent")
			if m.Addr == mp {
				break
			}
			pm, err := c.At("struct mount", mp)
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
