package walk_test

import (
	"encoding/binary"
	"errors"
	"iter"
	"testing"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// The fuzz targets walk structures laid over arbitrary bytes: memory from
// kbase up repeats the input, so every pointer into that range is
// readable and links lead anywhere (back, sideways, into the middle of a
// node). Nothing may panic or run away; what is yielded keeps the walk's
// promises (no element twice, indices in order), and every error is a
// *walk.Error. The seeds are real structures built by the test kernel.
//
//	go test ./walk -run XXX -fuzz FuzzMapleTree -fuzzminimizetime 2s
//
// (the default minimizing time makes long pauses on these 1-2 KiB inputs).

// wrapMem serves data repeated from kbase up; below kbase is unmapped.
type wrapMem []byte

func (m wrapMem) ReadAt(p []byte, off int64) (int, error) {
	a := uint64(off)
	if a < kbase || len(m) == 0 || a+uint64(len(p)) < a {
		return 0, errUnmapped
	}
	for i := range p {
		p[i] = m[(a-kbase+uint64(i))%uint64(len(m))]
	}
	return len(p), nil
}

// fuzzContext is the test kernel's types over data.
func fuzzContext(data []byte, vars map[string]*ktype.Variable) *value.Context {
	return value.New(newSource(kernelTypes(), vars), wrapMem(data))
}

// snapshot returns the test kernel's memory from kbase to its last
// allocation: a seed.
func snapshot(k *kernel) []byte {
	b := make([]byte, k.next-kbase)
	base := uint64(kbase)
	k.mem.ReadAt(b, int64(base))
	return b
}

const fuzzMax = 64

// checkWalk runs seq, checking the promises common to all walks.
func checkWalk[T any](t *testing.T, seq iter.Seq2[T, error], key func(T) uint64, ordered bool) ([]T, error) {
	var out []T
	seen := map[uint64]bool{}
	var last uint64
	for v, err := range seq {
		if err != nil {
			var we *walk.Error
			if !errors.As(err, &we) {
				t.Fatalf("error %v (%T) is not a *walk.Error", err, err)
			}
			if we.Error() == "" {
				t.Fatal("empty error message")
			}
			return out, err
		}
		k := key(v)
		if !ordered && seen[k] {
			t.Fatalf("element %#x yielded twice", k)
		}
		if ordered && len(out) > 0 && k <= last {
			t.Fatalf("index %#x after %#x", k, last)
		}
		seen[k], last = true, k
		out = append(out, v)
		if len(out) > fuzzMax {
			t.Fatalf("%d elements, more than Max(%d)", len(out), fuzzMax)
		}
	}
	return out, nil
}

func addr(v value.Value) uint64 { return v.Addr }

func FuzzList(f *testing.F) {
	k, _ := listKernelF()
	f.Add(snapshot(k))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzContext(data, nil)
		head := c.Typed(kernelTypes()["struct list_head"], kbase, "head")
		hhead := c.Typed(kernelTypes()["struct hlist_head"], kbase, "hhead")
		nhead := c.Typed(kernelTypes()["struct hlist_nulls_head"], kbase, "nhead")
		entry := c.Typed(kernelTypes()["struct item"], kbase+8, "entry")
		_, _ = checkWalk(t, walk.List(head, "struct item", "link", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.ListReverse(head, "struct item", "link", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.ListFrom(entry, "link", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.HList(hhead, "struct item", "hnode", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.HListNulls(nhead, "struct item", "nnode", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.HListFrom(entry, "hnode", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.HListBL(c.Typed(kernelTypes()["struct hlist_bl_head"], kbase, "blhead"), "struct item", "blnode", walk.Max(fuzzMax)), addr, false)
		_, _ = checkWalk(t, walk.LList(c.Typed(kernelTypes()["struct llist_head"], kbase, "lhead"), "struct item", "lnode", walk.Max(fuzzMax)), addr, false)
		// crash's list: raw links from the head's next, forwards and back.
		for _, off := range []int64{0, 8} {
			_, _ = checkWalk(t, walk.Chain(c, kbase, off, 8, []uint64{kbase}, walk.Max(fuzzMax)), func(a uint64) uint64 { return a }, false)
		}
	})
}

// listKernelF is listKernel for a fuzz seed: the head first, at kbase.
func listKernelF() (*kernel, []uint64) {
	k := newKernel()
	head := k.variable("items", "struct list_head")
	var its []uint64
	for i := range 3 {
		its = append(its, k.item(int64(i+1)))
	}
	k.list(head, "link", its...)
	return k, its
}

func FuzzRBTree(f *testing.F) {
	k := newKernel()
	root := k.variable("tree", "struct rb_root")
	a := k.rbItem(1, 0, 0)
	c3 := k.rbItem(3, 0, 0)
	b := k.rbItem(2, a, c3)
	k.put64(root, b+k.offsetOf("struct item", "rb"))
	f.Add(snapshot(k))
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzContext(data, nil)
		r := c.Typed(kernelTypes()["struct rb_root"], kbase, "root")
		fwd, errF := checkWalk(t, walk.RBTree(r, "struct item", "rb", walk.Max(fuzzMax)), addr, false)
		rev, errR := checkWalk(t, walk.RBTreeReverse(r, "struct item", "rb", walk.Max(fuzzMax)), addr, false)
		// The raw walks from the root node: in order they are RBTree's
		// nodes; in crash's pre-order, the same nodes.
		var top [8]byte
		if c.Read(top[:], kbase, "root") == nil {
			in, errI := walk.Collect(walk.RBNodes(c, binary.LittleEndian.Uint64(top[:]), walk.InOrder, walk.Max(fuzzMax)))
			pre, errP := walk.Collect(walk.RBNodes(c, binary.LittleEndian.Uint64(top[:]), walk.PreOrder, walk.Max(fuzzMax)))
			if errI == nil && errF == nil && len(in) != len(fwd) {
				t.Fatalf("RBNodes: %d nodes in order, RBTree %d", len(in), len(fwd))
			}
			if errI == nil && errP == nil && len(in) != len(pre) {
				t.Fatalf("RBNodes: %d nodes in order, %d in pre-order", len(in), len(pre))
			}
		}
		if errF == nil && errR == nil {
			if len(fwd) != len(rev) {
				t.Fatalf("%d nodes forwards, %d backwards", len(fwd), len(rev))
			}
			for i := range fwd {
				if fwd[i].Addr != rev[len(rev)-1-i].Addr {
					t.Fatalf("node %d differs backwards", i)
				}
			}
		}
	})
}

func index(e walk.Entry) uint64 { return e.Index }

// checkEntries checks that entries cover disjoint, ascending ranges.
func checkEntries(t *testing.T, es []walk.Entry) {
	for i, e := range es {
		if e.Last < e.Index || (i > 0 && e.Index <= es[i-1].Last) {
			t.Fatalf("entry %d covers %#x-%#x after %#x-%#x", i, e.Index, e.Last, es[max(i-1, 0)].Index, es[max(i-1, 0)].Last)
		}
		if e.Raw == 0 {
			t.Fatalf("entry %d is NULL", i)
		}
	}
}

// checkLoad checks that a load at index agrees with a whole walk that
// ended without an error.
func checkLoad(t *testing.T, es []walk.Entry, walkErr error, at uint64, load func() (walk.Entry, bool, error)) {
	e, ok, err := load()
	if err != nil {
		var we *walk.Error
		if !errors.As(err, &we) {
			t.Fatalf("load error %v (%T) is not a *walk.Error", err, err)
		}
		return
	}
	if walkErr != nil || len(es) >= fuzzMax {
		return
	}
	var want walk.Entry
	found := false
	for _, w := range es {
		if w.Index <= at && at <= w.Last {
			want, found = w, true
		}
	}
	if ok != found || ok && (e.Index != want.Index || e.Last != want.Last || e.Raw != want.Raw) {
		t.Fatalf("load %#x: %+v %v; the walk has %+v %v", at, e, ok, want, found)
	}
}

func FuzzXArray(f *testing.F) {
	k := newKernel()
	xa := k.variable("ids", "struct idr")
	root := k.xaNode(6)
	leaf := k.xaNode(0)
	k.put64(slot(root, 1), leaf|2)
	k.put64(slot(leaf, 3), k.item(1))
	k.put64(slot(leaf, 4), 9<<1|1)
	k.put64(slot(leaf, 5), k.item(2))
	k.put64(slot(leaf, 6), 5<<2|2)
	k.put64(xa+8, root|2)
	f.Add(snapshot(k), uint64(67))
	f.Add(make([]byte, 24), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, at uint64) {
		c := fuzzContext(data, nil)
		idr := c.Typed(kernelTypes()["struct idr"], kbase, "idr")
		x := c.Typed(kernelTypes()["struct xarray"], kbase, "xa")
		es, err := checkWalk(t, walk.XArray(x, walk.Max(fuzzMax)), index, true)
		checkEntries(t, es)
		checkLoad(t, es, err, at, func() (walk.Entry, bool, error) { return walk.XArrayLoad(x, at, walk.Max(fuzzMax)) })
		es, _ = checkWalk(t, walk.IDR(idr, walk.Max(fuzzMax)), index, true)
		checkEntries(t, es)
		rt := c.Typed(kernelTypes()["struct radix_tree_root"], kbase, "rt")
		es, _ = checkWalk(t, walk.RadixTree(rt, walk.Max(fuzzMax)), index, true)
		checkEntries(t, es)
	})
}

func FuzzMapleTree(f *testing.F) {
	k := newKernel()
	mt := k.variable("mt", "struct maple_tree")
	rootN, rootE := k.mapleNode(mapleArange)
	l1N, l1E := k.mapleNode(mapleLeaf64)
	l2N, l2E := k.mapleNode(mapleRange64)
	l3N, l3E := k.mapleNode(mapleLeaf64)
	k.setArange(rootN, []uint64{0xfff}, []uint64{l1E, l2E})
	k.setRange64(l1N, []uint64{0xff, 0x1ff, 0xfff}, []uint64{0, kbase + 0x10, 0})
	k.setRange64(l2N, []uint64{0x1fff}, []uint64{l3E, 0})
	k.setRange64(l3N, []uint64{0x17ff, 0x1fff}, []uint64{kbase + 0x20, kbase + 0x30})
	k.put64(mt+8, rootE|2)
	f.Add(snapshot(k), uint64(0x1800))
	f.Add(make([]byte, 16), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, at uint64) {
		c := fuzzContext(data, nil)
		tree := c.Typed(kernelTypes()["struct maple_tree"], kbase, "mt")
		es, err := checkWalk(t, walk.MapleTree(tree, walk.Max(fuzzMax)), index, true)
		checkEntries(t, es)
		checkLoad(t, es, err, at, func() (walk.Entry, bool, error) { return walk.MapleLoad(tree, at, walk.Max(fuzzMax)) })
	})
}

func FuzzCPUs(f *testing.F) {
	// The mask's two words, then nr_cpu_ids.
	f.Add([]byte{0x05, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 66, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		vars := map[string]*ktype.Variable{
			"__cpu_online_mask": {Name: "__cpu_online_mask", Addr: kbase, Type: kernelTypes()["struct cpumask"]},
			"nr_cpu_ids":        {Name: "nr_cpu_ids", Addr: kbase + 16, Type: u32},
		}
		c := fuzzContext(data, vars)
		prev := -1
		for cpu, err := range walk.OnlineCPUs(c) {
			if err != nil {
				break
			}
			if cpu <= prev || cpu >= 128 {
				t.Fatalf("CPU %d after %d", cpu, prev)
			}
			prev = cpu
		}
	})
}
