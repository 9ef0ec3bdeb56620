package repl

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/tasks"
)

// The per-task layouts print the model's values as crash does; the
// expected text is crash 8.0.6's (k61-elf, foreach user files/vm/sig).

func TestWriteFileSet(t *testing.T) {
	fs := &tasks.FileSet{FS: 0xffff8ad041209a00, Root: "/", Cwd: "/", Files: 1, MaxFDs: 64, Open: []tasks.OpenFile{
		{FD: 0, File: 0xffff8ad07fec3900, Dentry: 0xffff8ad041415300, Inode: 0xffff8ad0411e09c0, Type: "CHR", Path: "/dev/null"},
		{FD: 1, File: 0xffff8ad041a1ba00, Dentry: 0xffff8ad041ed8180, Inode: 0xffff8ad042136780, Type: "FIFO"},
		{FD: 10, File: 0xffff8ad07fec3b00, Dentry: 0xffff8ad041ed8a80, Inode: 0xffff8ad0424a12f0, Type: "REG", Path: "/bin/lab-pipe-writer"},
		{FD: 11, File: 0xffff8ad07fec3c00},
		{FD: 12, File: 0xffff8ad07fec3d00, Dentry: 0xffff8ad041ed8b00},
	}}
	var b bytes.Buffer
	if err := writeFileSet(&b, fs, nil); err != nil {
		t.Fatal(err)
	}
	want := `ROOT: /    CWD: /
 FD       FILE            DENTRY           INODE       TYPE PATH
  0 ffff8ad07fec3900 ffff8ad041415300 ffff8ad0411e09c0 CHR  /dev/null
  1 ffff8ad041a1ba00 ffff8ad041ed8180 ffff8ad042136780 FIFO 
 10 ffff8ad07fec3b00 ffff8ad041ed8a80 ffff8ad0424a12f0 REG  /bin/lab-pipe-writer
 11 ffff8ad07fec3c00 0000000000000000        ?         ?    ?
 12 ffff8ad07fec3d00 ffff8ad041ed8b00 0000000000000000 ?    ?
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// A kernel thread; and a read that failed part way: what was read,
	// then the error.
	b.Reset()
	writeFileSet(&b, &tasks.FileSet{}, nil)
	if b.String() != "No open files\n" {
		t.Errorf("no files: %q", b.String())
	}
	b.Reset()
	bad := errors.New("cannot read fdtable.fd")
	if err := writeFileSet(&b, &tasks.FileSet{FS: 1, Root: "/", Cwd: "/tmp", MaxFDs: 4}, bad); err != bad || b.String() != "ROOT: /    CWD: /tmp\n" {
		t.Errorf("partial files: %q, %v", b.String(), err)
	}
}

func TestWriteAddressSpace(t *testing.T) {
	as := &tasks.AddressSpace{MM: 0xffff8ad041055200, PGD: 0xffff8ad042556000, RSS: 1828, TotalVM: 2260, Mappings: []tasks.Mapping{
		{VMA: 0xffff8ad04248c000, Start: 0x400000, End: 0x401000, Flags: 0x8000071, File: 1, Path: "/bin/busybox"},
		{VMA: 0xffff8ad04248ced8, Start: 0x7ffd69a59000, End: 0x7ffd69a7a000, Flags: 0x100173},
	}}
	var b bytes.Buffer
	if err := writeAddressSpace(&b, as, nil); err != nil {
		t.Fatal(err)
	}
	want := `       MM               PGD          RSS    TOTAL_VM
ffff8ad041055200  ffff8ad042556000  1828k    2260k  
      VMA           START       END     FLAGS FILE
ffff8ad04248c000     400000     401000 8000071 /bin/busybox
ffff8ad04248ced8 7ffd69a59000 7ffd69a7a000 100173 
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("vm (-want +got):\n%s", diff)
	}
	b.Reset()
	writeAddressSpace(&b, &tasks.AddressSpace{}, nil)
	if want := "       MM               PGD          RSS    TOTAL_VM\n       0                 0            0k       0k   \n"; b.String() != want { // crash's fe-kernel-vm
		t.Errorf("a kernel thread's vm: %q, want %q", b.String(), want)
	}
}

func TestWriteSignalState(t *testing.T) {
	st := &tasks.SignalState{SignalStruct: 0xffff8ad041209b00, NrThreads: 1, Actions: []tasks.SigAction{
		{Signal: 1, Addr: 0xffff8ad0412152a0, HandlerName: "SIG_DFL"},
		{Signal: 2, Addr: 0xffff8ad0412152c0, Handler: 0x525892, Mask: 0xfffffffe7ffbfeff, Flags: 0x4000000, FlagNames: []string{"SA_RESTORER"}},
		{Signal: 10, Addr: 0xffff8ad0412153c0, Handler: 1, HandlerName: "SIG_IGN", Flags: 0x14000004, FlagNames: []string{"SA_RESTORER", "SA_SIGINFO", "SA_RESTART"}},
	}, Pending: true, Blocked: 0x800,
		Private: tasks.SigPending{Signal: 0x200, Queue: []tasks.QueuedSignal{{Signal: 10, SigInfo: 0xffff8ad041a0c018}}},
		Shared:  tasks.SigPending{}}
	var b bytes.Buffer
	if err := writeSignalState(&b, st, nil); err != nil {
		t.Fatal(err)
	}
	want := `SIGNAL_STRUCT: ffff8ad041209b00  NR_THREADS: 1
 SIG    SIGACTION        HANDLER       MASK       FLAGS           
 [1] ffff8ad0412152a0    SIG_DFL 0000000000000000 0 
 [2] ffff8ad0412152c0     525892 fffffffe7ffbfeff 4000000 (SA_RESTORER)
[10] ffff8ad0412153c0    SIG_IGN 0000000000000000 14000004 (SA_RESTORER|SA_SIGINFO|SA_RESTART)
SIGPENDING: yes
   BLOCKED: 0000000000000800
PRIVATE_PENDING
    SIGNAL: 0000000000000200
  SIGQUEUE:  SIG      SIGINFO     
              10  ffff8ad041a0c018
SHARED_PENDING
    SIGNAL: 0000000000000000
  SIGQUEUE: (empty)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("sig (-want +got):\n%s", diff)
	}
	b.Reset()
	writeSignalState(&b, &tasks.SignalState{}, nil)
	if b.String() != "SIGNAL_STRUCT: 0  \n" {
		t.Errorf("no signal_struct: %q", b.String())
	}
}

// TestPanicBySysrq: crash's set marks the panic task (SYSRQ) where sysrq-c
// panicked a machine without kdump (its stack search met
// sysrq_handle_crash before any kexec mark; crash 8.0.6 says so of the
// lab's q612-panic-elf), (PANIC) where kdump ran.
func TestPanicBySysrq(t *testing.T) {
	frames := func(names ...string) []tasks.Frame {
		var out []tasks.Frame
		for _, n := range names {
			out = append(out, tasks.Frame{Function: n})
		}
		return out
	}
	for _, tc := range []struct {
		bt   tasks.Backtrace
		want bool
	}{
		{tasks.Backtrace{Origin: arch.OriginStackMark, Frames: frames("panic", "sysrq_handle_crash", "__handle_sysrq")}, true},
		{tasks.Backtrace{Origin: arch.OriginStackMark, Frames: frames("machine_kexec", "__crash_kexec", "panic", "sysrq_handle_crash")}, false},
		{tasks.Backtrace{Origin: arch.OriginStackMark, Frames: frames("panic", "oops_end", "page_fault_oops")}, false},
		{tasks.Backtrace{Origin: arch.OriginCPURegs, Frames: frames("panic", "sysrq_handle_crash")}, false},
		{tasks.Backtrace{Origin: arch.OriginStackMark}, false},
	} {
		if got := panicBySysrq(&tc.bt); got != tc.want {
			t.Errorf("%v from %s: %v, want %v", tc.bt.Frames, tc.bt.Origin, got, tc.want)
		}
	}
}
