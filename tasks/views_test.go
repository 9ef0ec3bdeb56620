package tasks

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
)

// synthFS lays out a root file system, /home mounted on it, a devpts
// mounted on a devtmpfs of its own (whose paths crash shows under /dev),
// and a socket; it returns the vfsmounts and dentries the tests use.
type synthFS struct {
	rootMnt, homeMnt, ptsMnt, sockMnt   uint64
	root, user, log, pty, sock, noInode uint64
}

func newSynthFS(k *synthKernel) *synthFS {
	fs := &synthFS{}
	dir := k.inode(0o040755)
	fs.root = k.dentry("/", 0, dir)
	fs.rootMnt = k.mount("/dev/vda1", 0, fs.root, fs.root)
	home := k.dentry("home", fs.root, dir)
	homeRoot := k.dentry("/", 0, dir)
	fs.homeMnt = k.mount("/dev/vdb", fs.rootMnt, home, homeRoot)
	fs.user = k.dentry("user", homeRoot, dir)
	fs.log = k.dentry("log", fs.user, k.inode(0o100644))
	devRoot := k.dentry("/", 0, dir)
	devMnt := k.mount("devtmpfs", 0, devRoot, devRoot)
	pts := k.dentry("pts", devRoot, dir)
	ptsRoot := k.dentry("/", 0, dir)
	fs.ptsMnt = k.mount("devpts", devMnt, pts, ptsRoot)
	fs.pty = k.dentry("0", ptsRoot, k.inode(0o020620))
	sockRoot := k.dentry("/", 0, k.inode(0o140777))
	fs.sockMnt = k.mount("sockfs", 0, sockRoot, sockRoot)
	fs.sock = sockRoot
	fs.noInode = k.dentry("gone", fs.root, 0)
	return fs
}

func TestDentryPath(t *testing.T) {
	k := newSynthKernel()
	fs := newSynthFS(k)
	for _, c := range []struct {
		dentry, mnt uint64
		want        string
	}{
		{fs.root, fs.rootMnt, "/"},
		{fs.user, fs.homeMnt, "/home/user"},
		{fs.log, fs.homeMnt, "/home/user/log"},
		{fs.log, 0, "/user/log"}, // without the mount: up to its file system's root
		{fs.pty, fs.ptsMnt, "/pts/0"},
	} {
		if got := DentryPath(k.c, c.dentry, c.mnt); got != c.want {
			t.Errorf("DentryPath(%#x, %#x) = %q, want %q", c.dentry, c.mnt, got, c.want)
		}
	}
	// A d_parent loop (a -> b -> a) ends; so does a dentry in no memory.
	a := k.dentry("a", 0, 0)
	b := k.dentry("b", a, 0)
	k.set("dentry", a, "d_parent", b)
	if got := DentryPath(k.c, a, 0); got != "b/a" && !strings.HasSuffix(got, "a") {
		t.Errorf("DentryPath of a loop = %q", got)
	}
	if got := DentryPath(k.c, 0xdead000, 0); got != "" {
		t.Errorf("DentryPath of an unreadable dentry = %q", got)
	}
}

// synthTaskFiles gives a task the file system context and descriptors of
// TestFiles.
func synthTaskFiles(k *synthKernel, fs *synthFS) (task uint64, files []uint64) {
	task = k.object("task_struct")
	fss := k.object("fs_struct")
	k.set("fs_struct", fss, "root.dentry", fs.root)
	k.set("fs_struct", fss, "root.mnt", fs.rootMnt)
	k.set("fs_struct", fss, "pwd.dentry", fs.user)
	k.set("fs_struct", fss, "pwd.mnt", fs.homeMnt)
	k.set("task_struct", task, "fs", fss)
	files = []uint64{
		k.file(fs.pty, fs.ptsMnt),      // 0: /dev/pts/0
		k.file(fs.log, fs.homeMnt),     // 1: a regular file
		k.file(fs.log, fs.homeMnt),     // 2: not open (its bit is clear)
		k.file(fs.sock, fs.sockMnt),    // 3: a socket
		k.file(0, 0),                   // 4: no dentry
		k.file(fs.noInode, fs.rootMnt), // 5: no inode
	}
	fdArray := k.alloc(64 * 8)
	for i, f := range files {
		k.u64(fdArray+8*uint64(i), f)
	}
	bits := k.alloc(8)
	k.u64(bits, 0b1111011|1<<6) // fd 6 is marked open with a NULL file
	fdt := k.object("fdtable")
	k.set("fdtable", fdt, "max_fds", 64)
	k.set("fdtable", fdt, "fd", fdArray)
	k.set("fdtable", fdt, "open_fds", bits)
	fst := k.object("files_struct")
	k.set("files_struct", fst, "fdt", fdt)
	k.set("task_struct", task, "files", fst)
	return task, files
}

func TestFiles(t *testing.T) {
	k := newSynthKernel()
	fs := newSynthFS(k)
	task, files := synthTaskFiles(k, fs)
	got, err := Files(k.c, &Task{Addr: task})
	if err != nil {
		t.Fatal(err)
	}
	dentryOf := func(f uint64) uint64 { v, _ := k.c.At("struct file", f); return u64Member(v, "f_path.dentry") }
	inodeOf := func(d uint64) uint64 { v, _ := k.c.At("struct dentry", d); return u64Member(v, "d_inode") }
	w := func(x uint64) arch.Word { return arch.Word(x) }
	want := []OpenFile{
		{FD: 0, File: w(files[0]), Dentry: w(fs.pty), Inode: w(inodeOf(fs.pty)), Type: "CHR", Path: "/dev/pts/0"},
		{FD: 1, File: w(files[1]), Dentry: w(fs.log), Inode: w(inodeOf(fs.log)), Type: "REG", Path: "/home/user/log"},
		{FD: 3, File: w(files[3]), Dentry: w(fs.sock), Inode: w(inodeOf(fs.sock)), Type: "SOCK", Path: ""},
		{FD: 4, File: w(files[4])},
		{FD: 5, File: w(files[5]), Dentry: w(dentryOf(files[5]))},
	}
	if got.Root != "/" || got.Cwd != "/home/user" || got.MaxFDs != 64 || got.FS == 0 || got.Files == 0 {
		t.Errorf("FileSet = root %q cwd %q max_fds %d fs %#x files %#x", got.Root, got.Cwd, got.MaxFDs, got.FS, got.Files)
	}
	if diff := cmp.Diff(want, got.Open); diff != "" {
		t.Errorf("open files (-want +got):\n%s", diff)
	}
	if b, err := json.Marshal(got); err != nil || !strings.Contains(string(b), `"path":"/dev/pts/0"`) {
		t.Errorf("JSON = %s, %v", b, err)
	}

	// A kernel thread: no fs, no files.
	kt := k.object("task_struct")
	if got, err := Files(k.c, &Task{Addr: kt}); err != nil || got.FS != 0 || got.Open != nil {
		t.Errorf("Files of a task without fs and files = %+v, %v", got, err)
	}
	// The fd array points into no memory: the descriptors before the
	// failure are returned with an error naming the address.
	fdt := memberAt(t, k, "files_struct", memberAt(t, k, "task_struct", task, "files"), "fdt")
	k.set("fdtable", fdt, "fd", 0xffffc90000000000-8*3)
	k.mem.Write(0xffffc90000000000-8*3, make([]byte, 8*2)) // fd 0 and 1 readable, the rest not
	got, err = Files(k.c, &Task{Addr: task})
	if err == nil || !strings.Contains(err.Error(), "ffffc90000000000") {
		t.Errorf("Files over a broken fd array: %v, want an error naming 0xffffc90000000000", err)
	}
	if got == nil || len(got.Open) != 0 || got.Root != "/" {
		t.Errorf("partial FileSet = %+v", got)
	}
	// An implausible table size is an error, not a huge read.
	k.set("fdtable", fdt, "max_fds", 1<<31)
	if _, err := Files(k.c, &Task{Addr: task}); err == nil || !strings.Contains(err.Error(), "max_fds") {
		t.Errorf("Files with max_fds 1<<31: %v", err)
	}
	if _, err := Files(k.c, &Task{Addr: 0x1000}); err == nil {
		t.Error("Files of an unreadable task: no error")
	}
}

// memberAt reads a member of the struct typ at addr.
func memberAt(t *testing.T, k *synthKernel, typ string, addr uint64, path string) uint64 {
	t.Helper()
	v, err := k.c.At("struct "+typ, addr)
	if err != nil {
		t.Fatal(err)
	}
	return u64Member(v, path)
}

func TestFileType(t *testing.T) {
	for mode, want := range map[uint64]string{0o100644: "REG", 0o040755: "DIR", 0o020620: "CHR", 0o060660: "BLK",
		0o010600: "FIFO", 0o120777: "LNK", 0o140777: "SOCK", 0: "UNKN", 0o170000: "UNKN"} {
		if got := FileType(mode); got != want {
			t.Errorf("FileType(%#o) = %s, want %s", mode, got, want)
		}
	}
}

// synthTaskSignals gives a task a signal_struct of 3 threads, a SIGINT
// handler, SIGPIPE ignored, a blocked SIGUSR2, a pending SIGUSR1 queued
// privately and SIGTERM shared (its queue empty).
func synthTaskSignals(k *synthKernel) (task, sig, hand, queued uint64) {
	task = k.object("task_struct")
	sig = k.object("signal_struct")
	k.set("signal_struct", sig, "nr_threads", 3)
	k.set("signal_struct", sig, "shared_pending.signal.sig[0]", 1<<14)
	shared := sig + k.off("signal_struct", "shared_pending.list")
	k.set("signal_struct", sig, "shared_pending.list.next", shared)
	k.set("signal_struct", sig, "shared_pending.list.prev", shared)
	for i := range 16 {
		k.set("signal_struct", sig, "rlim["+strconv.Itoa(i)+"].rlim_cur", uint64(i))
		k.set("signal_struct", sig, "rlim["+strconv.Itoa(i)+"].rlim_max", RlimInfinity)
	}
	hand = k.object("sighand_struct")
	k.set("sighand_struct", hand, "action[1].sa.sa_handler", 0x401000)
	k.set("sighand_struct", hand, "action[1].sa.sa_flags", 0x04000000|0x10000000|0x4)
	k.set("sighand_struct", hand, "action[1].sa.sa_mask.sig[0]", 0x2)
	k.set("sighand_struct", hand, "action[12].sa.sa_handler", 1)
	k.set("task_struct", task, "signal", sig)
	k.set("task_struct", task, "sighand", hand)
	k.set("task_struct", task, "thread_info.flags", 1<<2)
	k.set("task_struct", task, "blocked.sig[0]", 1<<11)
	k.set("task_struct", task, "pending.signal.sig[0]", 1<<9)
	queued = k.object("sigqueue")
	k.set("sigqueue", queued, "info.si_signo", 10)
	head := task + k.off("task_struct", "pending.list")
	k.set("task_struct", task, "pending.list.next", queued)
	k.set("task_struct", task, "pending.list.prev", queued)
	k.set("sigqueue", queued, "list.next", head)
	k.set("sigqueue", queued, "list.prev", head)
	return task, sig, hand, queued
}

func TestSignals(t *testing.T) {
	k := newSynthKernel()
	task, sig, hand, queued := synthTaskSignals(k)
	st, err := Signals(k.c, x86TIF, &Task{Addr: task})
	if err != nil {
		t.Fatal(err)
	}
	if st.SignalStruct != arch.Word(sig) || st.NrThreads != 3 || st.SigHand != arch.Word(hand) || !st.Pending || st.Blocked != 1<<11 {
		t.Errorf("SignalState = %+v", st)
	}
	if len(st.Actions) != 64 {
		t.Fatalf("%d actions, want 64", len(st.Actions))
	}
	act := hand + k.off("sighand_struct", "action[1]")
	want := SigAction{Signal: 2, Addr: arch.Word(act), Handler: 0x401000, Mask: 2, Flags: 0x14000004,
		FlagNames: []string{"SA_RESTORER", "SA_SIGINFO", "SA_RESTART"}}
	if diff := cmp.Diff(want, st.Actions[1]); diff != "" {
		t.Errorf("SIGINT's action (-want +got):\n%s", diff)
	}
	if a := st.Actions[12]; a.HandlerName != "SIG_IGN" || a.Signal != 13 {
		t.Errorf("SIGPIPE's action = %+v", a)
	}
	if a := st.Actions[0]; a.HandlerName != "SIG_DFL" || a.FlagNames != nil {
		t.Errorf("SIGHUP's action = %+v", a)
	}
	wantQ := []QueuedSignal{{Signal: 10, SigInfo: arch.Word(queued + k.off("sigqueue", "info"))}}
	if diff := cmp.Diff(wantQ, st.Private.Queue); diff != "" || st.Private.Signal != 1<<9 {
		t.Errorf("private pending %#x (-want +got):\n%s", st.Private.Signal, diff)
	}
	if st.Shared.Signal != 1<<14 || len(st.Shared.Queue) != 0 {
		t.Errorf("shared pending = %+v", st.Shared)
	}
	lims, err := ResourceLimits(k.c, &Task{Addr: task, Signal: sig})
	if err != nil || len(lims) != 16 || lims[7] != (ResourceLimit{"NOFILE", 7, Limit(RlimInfinity)}) {
		t.Errorf("ResourceLimits = %v, %v", lims, err)
	}
	if b, _ := json.Marshal(lims[7]); string(b) != `{"resource":"NOFILE","current":7,"maximum":"unlimited"}` {
		t.Errorf("limit JSON = %s", b)
	}

	// A queue that loops without its head ends with an error, the
	// dispositions read.
	k.set("sigqueue", queued, "list.next", queued)
	st, err = Signals(k.c, x86TIF, &Task{Addr: task})
	if err == nil || st == nil || len(st.Actions) != 64 {
		t.Errorf("a looping queue: %v (state %v)", err, st != nil)
	}
	// A sighand in no memory: an error after the signal_struct's part.
	k.set("sigqueue", queued, "list.next", task+k.off("task_struct", "pending.list"))
	k.set("task_struct", task, "sighand", 0xffffc90000001000)
	st, err = Signals(k.c, x86TIF, &Task{Addr: task})
	if err == nil || !strings.Contains(err.Error(), "ffffc9000000100") || st == nil || st.NrThreads != 3 || st.Actions != nil {
		t.Errorf("an unreadable sighand: %v, %+v", err, st)
	}
	// No signal_struct: nothing else.
	bare := k.object("task_struct")
	if st, err := Signals(k.c, x86TIF, &Task{Addr: bare}); err != nil || st.SignalStruct != 0 || st.Actions != nil {
		t.Errorf("a task without signal_struct: %+v, %v", st, err)
	}
}

func TestAddressSpace(t *testing.T) {
	k := newSynthKernel()
	fs := newSynthFS(k)
	mm := k.object("mm_struct")
	k.set("mm_struct", mm, "pgd", 0xffff888102000000)
	v1, v2 := k.object("vm_area_struct"), k.object("vm_area_struct")
	f := k.file(fs.log, fs.homeMnt)
	k.set("vm_area_struct", v1, "vm_start", 0x400000)
	k.set("vm_area_struct", v1, "vm_end", 0x401000)
	k.set("vm_area_struct", v1, "vm_flags", 0x875)
	k.set("vm_area_struct", v1, "vm_file", f)
	k.set("vm_area_struct", v1, "vm_next", v2)
	k.set("vm_area_struct", v2, "vm_start", 0x7ffd0000)
	k.set("vm_area_struct", v2, "vm_end", 0x7ffd2000)
	k.set("vm_area_struct", v2, "vm_flags", 0x100173)
	k.set("mm_struct", mm, "mmap", v1)
	tb := NewTable(nil)
	as, err := tb.AddressSpace(k.c, &Task{Addr: 0x1000, MM: mm, RSS: 2, TotalVM: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := &AddressSpace{Task: 0x1000, MM: arch.Word(mm), PGD: 0xffff888102000000, RSS: 8, TotalVM: 12, Mappings: []Mapping{
		{VMA: arch.Word(v1), Start: 0x400000, End: 0x401000, Flags: 0x875, File: arch.Word(f), Path: "/home/user/log"},
		{VMA: arch.Word(v2), Start: 0x7ffd0000, End: 0x7ffd2000, Flags: 0x100173},
	}}
	if diff := cmp.Diff(want, as); diff != "" {
		t.Errorf("AddressSpace (-want +got):\n%s", diff)
	}
	if as, err := tb.AddressSpace(k.c, &Task{Addr: 0x2000}); err != nil || as.MM != 0 || as.Mappings != nil {
		t.Errorf("a kernel thread's address space: %+v, %v", as, err)
	}
	// A VMA list running into no memory: the mappings before it, and an
	// error naming the address.
	k.set("vm_area_struct", v2, "vm_next", 0xffffc90000002000)
	as, err = tb.AddressSpace(k.c, &Task{Addr: 0x1000, MM: mm})
	if err == nil || !strings.Contains(err.Error(), "ffffc900000020") || len(as.Mappings) != 2 {
		t.Errorf("a broken VMA list: %v, %d mappings", err, len(as.Mappings))
	}
}

func TestCommandLine(t *testing.T) {
	m, sp, pgd := userSpace()
	k := newSynthKernel()
	for a, pg := range m {
		k.mem[a] = pg
	}
	mm := k.object("mm_struct")
	k.set("mm_struct", mm, "pgd", pgd)
	// "/bin/sh\0-c\0" in the mapped page; the environment runs into the
	// next page, which the dump lacks.
	k.set("mm_struct", mm, "arg_start", 0x7ffd00000ff0)
	k.set("mm_struct", mm, "arg_end", 0x7ffd00000ffb)
	k.set("mm_struct", mm, "env_start", 0x7ffd00000ffb)
	k.set("mm_struct", mm, "env_end", 0x7ffd00001010)
	cl, err := CommandLine(k.c, sp, &Task{Addr: 0x1000, MM: mm})
	var uf *UserFault
	if !errors.As(err, &uf) || uf.Addr != 0x7ffd00001000 {
		t.Fatalf("CommandLine: %v, want a fault at 0x7ffd00001000", err)
	}
	if cl == nil || !cmp.Equal(cl.Args, []string{"/bin/sh", "-c"}) || cl.Env != nil || cl.Fault != uf {
		t.Fatalf("CommandLine = %+v", cl)
	}
	if b, _ := json.Marshal(cl); string(b) != `{"args":["/bin/sh","-c"],"env":null,"fault":"0x7ffd00001000"}` {
		t.Errorf("JSON = %s", b)
	}
	k.set("mm_struct", mm, "env_end", 0x7ffd00000ffc)
	if cl, err = CommandLine(k.c, sp, &Task{Addr: 0x1000, MM: mm}); err != nil || cl.Fault != nil || len(cl.Env) != 0 || string(cl.RawEnv) != "\x00" {
		t.Errorf("CommandLine = %+v, %v", cl, err)
	}
	if _, err := CommandLine(k.c, sp, &Task{Addr: 0x1000}); !errors.Is(err, ErrNoMM) {
		t.Errorf("a kernel thread's command line: %v", err)
	}
	// Not even the arguments: no Cmdline.
	k.set("mm_struct", mm, "arg_start", 0x7ffd00001000)
	k.set("mm_struct", mm, "arg_end", 0x7ffd00001008)
	if cl, err := CommandLine(k.c, sp, &Task{Addr: 0x1000, MM: mm}); cl != nil || !errors.As(err, &uf) {
		t.Errorf("unreadable arguments: %+v, %v", cl, err)
	}
}

// psTable is a small task table: the idle task, init, a daemon with two
// threads and a child, kthreadd and a kernel thread.
func psTable() *Table {
	const k = 0xffff888100000000
	tb := NewTable([]*Task{
		{Addr: k + 0x100, PID: 0, TGID: 0, Comm: "swapper/0", Active: true, LastRun: 50},
		{Addr: k + 0x200, PID: 1, TGID: 1, PPID: 0, Parent: k + 0x100, RealParent: k + 0x100, Comm: "init", MM: 1, RSS: 100, TotalVM: 1000, StartTime: 10, LastRun: 40, ThreadSP: 0xffffc90000013e00, State: taskInterruptible},
		{Addr: k + 0x300, PID: 300, TGID: 300, PPID: 1, Parent: k + 0x200, RealParent: k + 0x200, Comm: "daemon", MM: 2, RSS: 50, StartTime: 300, LastRun: 90, Policy: 1, Prio: 49, State: taskInterruptible},
		{Addr: k + 0x310, PID: 301, TGID: 300, PPID: 1, Parent: k + 0x200, RealParent: k + 0x200, Comm: "worker", MM: 2, RSS: 50, StartTime: 310, LastRun: 60, CPU: 1},
		{Addr: k + 0x320, PID: 302, TGID: 300, PPID: 1, Parent: k + 0x200, RealParent: k + 0x200, Comm: "worker", MM: 2, StartTime: 320, State: taskUninterruptible},
		{Addr: k + 0x400, PID: 400, TGID: 400, PPID: 300, Parent: k + 0x300, RealParent: k + 0x300, Comm: "child", MM: 3, StartTime: 5, State: exitZombie},
		{Addr: k + 0x500, PID: 2, TGID: 2, PPID: 0, Parent: k + 0x100, RealParent: k + 0x100, Comm: "kthreadd", Flags: pfKthread, StartTime: 1, State: taskInterruptible},
		{Addr: k + 0x600, PID: 20, TGID: 20, PPID: 2, Parent: k + 0x500, RealParent: k + 0x500, Comm: "kworker/0:1", Flags: pfKthread, State: taskUninterruptible | taskNoLoad},
	})
	tb.TotalPages = 1000
	tb.Clock = 1000
	tb.Clocks = []uint64{1000, 100}
	return tb
}

func pids(ts []*Task) []int {
	var out []int
	for _, t := range ts {
		out = append(out, t.PID)
	}
	return out
}

func TestTableRelations(t *testing.T) {
	tb := psTable()
	one := func(pid int) *Task { return tb.ByPID(pid)[0] }
	if got := pids(tb.Threads(one(300))); !cmp.Equal(got, []int{301, 302}) {
		t.Errorf("Threads(300) = %v", got)
	}
	if l := tb.Leader(one(302)); l != one(300) {
		t.Errorf("Leader(302) = %v", l)
	}
	if got := pids(tb.Children(one(1))); !cmp.Equal(got, []int{300, 301, 302}) {
		t.Errorf("Children(1) = %v", got)
	}
	if got := pids(tb.Children(one(0))); !cmp.Equal(got, []int{1, 2}) {
		t.Errorf("Children(0) = %v", got)
	}
	if got := pids(tb.Ancestry(one(400))); !cmp.Equal(got, []int{0, 1, 300, 400}) {
		t.Errorf("Ancestry(400) = %v", got)
	}
	// A loop in the parent links ends the line.
	loop := NewTable([]*Task{{Addr: 0x10, PID: 5, Parent: 0x20}, {Addr: 0x20, PID: 6, Parent: 0x10}})
	if got := pids(loop.Ancestry(loop.ByPID(5)[0])); !cmp.Equal(got, []int{6, 5}) {
		t.Errorf("Ancestry through a loop = %v", got)
	}
	if got := pids(tb.ByLastRun()); !cmp.Equal(got, []int{300, 301, 0, 1, 2, 20, 302, 400}) {
		t.Errorf("ByLastRun = %v", got)
	}
	if got := pids(ByStartTime(tb.Tasks)); !cmp.Equal(got, []int{0, 20, 2, 400, 1, 300, 301, 302}) {
		t.Errorf("ByStartTime = %v", got)
	}
	want := []StateCount{{"RU", 2}, {"IN", 3}, {"ID", 1}, {"UN", 1}, {"ZO", 1}}
	if got := StateCounts(tb.Tasks); !cmp.Equal(got, want) {
		t.Errorf("StateCounts = %v", got)
	}
	if tb.MaxLastRun() != 90 {
		t.Errorf("MaxLastRun = %d", tb.MaxLastRun())
	}
}

func TestFilter(t *testing.T) {
	tb := psTable()
	sel := func(f Filter) []int {
		var out []int
		for _, t := range tb.Tasks {
			if f.Match(t) {
				out = append(out, t.PID)
			}
		}
		return out
	}
	for _, c := range []struct {
		f    Filter
		want []int
	}{
		{Filter{}, []int{0, 1, 2, 20, 300, 301, 302, 400}},
		{Filter{KernelOnly: true}, []int{0, 2, 20}},
		{Filter{UserOnly: true}, []int{1, 300, 301, 302, 400}},
		{Filter{KernelOnly: true, ExcludeIdle: true}, []int{2, 20}},
		{Filter{Policies: 1 << 1}, []int{300}},
		{Filter{Policies: 1 << 0, UserOnly: true}, []int{1, 301, 302, 400}},
	} {
		if got := sel(c.f); !cmp.Equal(got, c.want) {
			t.Errorf("%+v selects %v, want %v", c.f, got, c.want)
		}
	}
	if (Filter{Policies: 1}).Match(&Task{Policy: 40}) {
		t.Error("a policy past 31 matched")
	}
}

func TestStatus(t *testing.T) {
	tb := psTable()
	s := tb.Status(tb.ByPID(1)[0])
	want := Status{Task: 0xffff888100000200, PID: 1, TGID: 1, Comm: "init", State: "IN", StateName: "TASK_INTERRUPTIBLE",
		MemPercent: 10, VSZ: 4000, RSS: 400, KStackP: 0xffffc90000013e00, Policy: "NORMAL", StartTime: 10, RunTime: 990,
		LastRun: 40, SinceLastRun: 960, Parent: 0xffff888100000100, Leader: 0xffff888100000200}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Status(1) (-want +got):\n%s", diff)
	}
	s = tb.Status(tb.ByPID(301)[0])
	if s.Leader != 0xffff888100000300 || s.SinceLastRun != 40 || s.Policy != "NORMAL" {
		t.Errorf("Status(301) = %+v", s)
	}
	s = tb.Status(tb.ByPID(0)[0])
	if !s.Active || !s.KernelThread || s.KStackP != 0 || s.State != "RU" {
		t.Errorf("Status(0) = %+v", s)
	}
	if b, err := json.Marshal(tb.Status(tb.ByPID(300)[0])); err != nil || !strings.Contains(string(b), `"policy":"FIFO","prio":49`) {
		t.Errorf("JSON = %s, %v", b, err)
	}
	if got := PolicyName(9); got != "UNKNOWN" {
		t.Errorf("PolicyName(9) = %s", got)
	}
}

func TestFamily(t *testing.T) {
	tb := psTable()
	f := tb.Family(tb.ByPID(301)[0])
	ref := func(pid int) TaskRef { return tb.ByPID(pid)[0].Ref() }
	want := Family{Task: ref(301), Ancestry: []TaskRef{ref(0), ref(1), ref(301)}, Leader: &TaskRef{PID: 300, Task: 0xffff888100000300, Comm: "daemon"},
		Threads: []TaskRef{ref(301), ref(302)}, Children: []TaskRef{}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("Family(301) (-want +got):\n%s", diff)
	}
	if f := tb.Family(tb.ByPID(300)[0]); len(f.Children) != 1 || f.Children[0].PID != 400 {
		t.Errorf("Family(300).Children = %v", f.Children)
	}
	if b, err := json.Marshal(tb.Family(tb.ByPID(1)[0])); err != nil || !strings.Contains(string(b), `"children":[{"pid":300,`) {
		t.Errorf("JSON = %s, %v", b, err)
	}
}

func TestTaskJSON(t *testing.T) {
	tk := &Task{Addr: 0xffff8ad0411f8000, PID: 1, TGID: 1, Parent: 0xffffffff8a613a00, CPU: 1, State: 0x402, Flags: pfKthread,
		Comm: "init", MM: 0xffff8ad041055200, Stack: 0xffffb3c0c0010000, ThreadSP: 0xffffb3c0c0013e08, LastRun: 123,
		StartTime: 5, Policy: 1, Prio: 120, Signal: 0xffff8ad041209b00, Active: true, RSS: 457, TotalVM: 565}
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"task":"0xffff8ad0411f8000"`, `"parent":"0xffffffff8a613a00"`, `"state":"0x402"`, `"pid":1,`, `"rss_pages":457`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON %s lacks %s", b, s)
		}
	}
	var back Task
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tk, &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestAncestryOfSecondaryIdle: the idle task of a CPU other than 0 has
// init as its real parent (init forked it) and the boot CPU's idle task
// as its parent; crash's ps -p follows parent.
func TestAncestryOfSecondaryIdle(t *testing.T) {
	swapper0 := &Task{Addr: 0x100, PID: 0, Comm: "swapper/0"}
	initT := &Task{Addr: 0x200, PID: 1, Comm: "init", Parent: 0x100, RealParent: 0x100}
	swapper1 := &Task{Addr: 0x300, PID: 0, Comm: "swapper/1", CPU: 1, Parent: 0x100, RealParent: 0x200}
	tb := NewTable([]*Task{swapper0, initT, swapper1})
	if a := tb.Ancestry(swapper1); len(a) != 2 || a[0] != swapper0 || a[1] != swapper1 {
		t.Errorf("Ancestry(swapper/1) = %v", a)
	}
	if ch := tb.Children(initT); len(ch) != 0 {
		t.Errorf("init's children include the idle task: %v", ch)
	}
}

// x86TIF are x86's thread_info flags (arch/amd64 gives them to the
// kernel model): the synthetic and lab kernels are x86_64's.
var x86TIF = arch.ThreadFlags{SigPending: 1 << 2}
