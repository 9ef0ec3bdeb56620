package tasks

import (
	"errors"
	"testing"

	"github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/value"
)

// The fuzz targets read the views over arbitrary bytes: memory from
// synthBase up repeats the input, so every pointer into that range is
// readable and links lead anywhere (back, sideways, into the middle of a
// structure). Nothing may panic or run away, and what comes back keeps
// the view's promises. The seeds are the unit tests' synthetic kernels.
//
//	go test ./tasks -run XXX -fuzz FuzzFiles -fuzzminimizetime 2s

var errWrapUnmapped = errors.New("below the fuzzed memory")

// wrapMem serves data repeated from synthBase up; below is unmapped.
type wrapMem []byte

func (m wrapMem) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < synthBase || len(m) == 0 || a+uint64(len(p)) < a {
		return 0, errWrapUnmapped
	}
	for i := range p {
		p[i] = m[(a-synthBase+uint64(i))%uint64(len(m))]
	}
	return len(p), nil
}

func fuzzContext(data []byte) *value.Context {
	return value.New(&fakekernel.Kernel{Types: synthTypes()}, wrapMem(data))
}

// snapshotSynth returns a synthetic kernel's memory from synthBase to its
// last allocation.
func snapshotSynth(k *synthKernel) []byte {
	b := make([]byte, k.next-synthBase)
	base := uint64(synthBase)
	k.mem.ReadAt(b, int64(base))
	return b
}

func FuzzDentryPath(f *testing.F) {
	k := newSynthKernel()
	fs := newSynthFS(k)
	data := snapshotSynth(k)
	for _, s := range [][2]uint64{{fs.log, fs.homeMnt}, {fs.pty, fs.ptsMnt}, {fs.root, fs.rootMnt}} {
		f.Add(data, uint32(s[0]-synthBase), uint32(s[1]-synthBase))
	}
	f.Fuzz(func(t *testing.T, data []byte, d, m uint32) {
		c := fuzzContext(data)
		p := DentryPath(c, synthBase+uint64(d), synthBase+uint64(m))
		if len(p) > maxPathDepth*4097 {
			t.Fatalf("a path of %d bytes", len(p))
		}
	})
}

func FuzzFiles(f *testing.F) {
	k := newSynthKernel()
	fs := newSynthFS(k)
	task, _ := synthTaskFiles(k, fs)
	f.Add(snapshotSynth(k), uint32(task-synthBase))
	f.Fuzz(func(t *testing.T, data []byte, off uint32) {
		c := fuzzContext(data)
		tk := &Task{Addr: synthBase + uint64(off)}
		// A table of a million descriptors, each with a path of 4096
		// components, is slow but bounded; keep the fuzzer's inputs to
		// tables it can get through quickly.
		if tv, err := c.At("struct task_struct", tk.Addr); err == nil {
			if fv, err := c.At("struct files_struct", u64Member(tv, "files")); err == nil {
				if dv, err := c.At("struct fdtable", u64Member(fv, "fdt")); err == nil && u64Member(dv, "max_fds") > 256 {
					t.Skip()
				}
			}
		}
		got, err := Files(c, tk)
		if got == nil {
			if err == nil {
				t.Fatal("no FileSet and no error")
			}
			return
		}
		last := -1
		for _, of := range got.Open {
			if of.FD <= last || uint64(of.FD) >= got.MaxFDs {
				t.Fatalf("descriptor %d after %d, max_fds %d", of.FD, last, got.MaxFDs)
			}
			last = of.FD
			switch of.Type {
			case "", "REG", "DIR", "CHR", "BLK", "FIFO", "LNK", "SOCK", "UNKN":
			default:
				t.Fatalf("type %q", of.Type)
			}
			if of.File == 0 || of.Type != "" && of.Inode == 0 {
				t.Fatalf("open file %+v", of)
			}
		}
	})
}

func FuzzSignals(f *testing.F) {
	k := newSynthKernel()
	task, _, _, _ := synthTaskSignals(k)
	f.Add(snapshotSynth(k), uint32(task-synthBase))
	f.Fuzz(func(t *testing.T, data []byte, off uint32) {
		c := fuzzContext(data)
		st, err := Signals(c, x86TIF, &Task{Addr: synthBase + uint64(off)})
		if st == nil {
			if err == nil {
				t.Fatal("no SignalState and no error")
			}
			return
		}
		if len(st.Actions) > 64 || len(st.Private.Queue) > maxSigQueue || len(st.Shared.Queue) > maxSigQueue {
			t.Fatalf("%d actions, queues of %d and %d", len(st.Actions), len(st.Private.Queue), len(st.Shared.Queue))
		}
		for i, a := range st.Actions {
			if a.Signal != i+1 {
				t.Fatalf("action %d is signal %d", i, a.Signal)
			}
		}
	})
}
