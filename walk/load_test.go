package walk_test

import (
	"errors"
	"testing"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

func TestXArrayLoad(t *testing.T) {
	k := newKernel()
	xa := k.variable("xa", "struct xarray")
	root, leaf0, leaf2 := k.xaNode(6), k.xaNode(0), k.xaNode(0)
	k.put64(slot(root, 0), leaf0|2)
	k.put64(slot(root, 2), leaf2|2)
	k.put64(slot(root, 1), 0xdead000000000002) // a bad node, off the way to the indices loaded
	a, b := k.item(1), k.item(2)
	k.put64(slot(leaf0, 5), a)
	k.put64(slot(leaf2, 12), b) // 140..143
	k.put64(slot(leaf2, 13), 12<<2|2)
	k.put64(slot(leaf2, 14), 12<<2|2)
	k.put64(slot(leaf2, 15), 12<<2|2)
	k.put64(xa+8, root|2)
	x := mustVar(t, k.c, "xa")
	for _, tc := range []struct {
		index, raw, first, last uint64
	}{{5, a, 5, 5}, {142, b, 140, 143}, {140, b, 140, 143}, {4, 0, 0, 0}, {144, 0, 0, 0}, {1 << 40, 0, 0, 0}} {
		e, ok, err := walk.XArrayLoad(x, tc.index)
		if err != nil || ok != (tc.raw != 0) || e.Raw != tc.raw || ok && (e.Index != tc.first || e.Last != tc.last) {
			t.Errorf("load %d: %+v %v %v; want %#x at %d-%d", tc.index, e, ok, err, tc.raw, tc.first, tc.last)
		}
	}
	_, _, err := walk.XArrayLoad(x, 70)
	wantErr(t, err, errUnmapped, 0xdead000000000000)

	idr := k.variable("ids", "struct idr")
	k.put64(idr+8, leaf0|2)
	k.put32(idr+16, 10)
	iv := mustVar(t, k.c, "ids")
	if e, ok, err := walk.IDRFind(iv, 15); err != nil || !ok || e.Raw != a || e.Index != 15 {
		t.Errorf("IDRFind 15: %+v %v %v", e, ok, err)
	}
	for _, id := range []uint64{5, 0, 14, 16} {
		if _, ok, err := walk.IDRFind(iv, id); ok || err != nil {
			t.Errorf("IDRFind %d: %v %v", id, ok, err)
		}
	}
}

func TestMapleLoad(t *testing.T) {
	k := newKernel()
	mt := k.variable("mt", "struct maple_tree")
	rootN, rootE := k.mapleNode(mapleArange)
	l1N, l1E := k.mapleNode(mapleLeaf64)
	l2N, l2E := k.mapleNode(mapleLeaf64)
	a, b := k.item(1), k.item(2)
	k.setArange(rootN, []uint64{0xffff}, []uint64{l1E, l2E})
	k.setRange64(l1N, []uint64{0xfff, 0x1fff, 0xffff}, []uint64{0, a, 0})
	k.setRange64(l2N, []uint64{0x20fff, ^uint64(0)}, []uint64{b, 0})
	k.put64(mt+8, rootE|2)
	tree := mustVar(t, k.c, "mt")
	for _, tc := range []struct{ index, raw, first, last uint64 }{
		{0x1000, a, 0x1000, 0x1fff}, {0x1fff, a, 0x1000, 0x1fff}, {0x10000, b, 0x10000, 0x20fff},
		{0, 0, 0, 0}, {0x2000, 0, 0, 0}, {0x21000, 0, 0, 0}, {^uint64(0), 0, 0, 0},
	} {
		e, ok, err := walk.MapleLoad(tree, tc.index)
		if err != nil || ok != (tc.raw != 0) || e.Raw != tc.raw || ok && (e.Index != tc.first || e.Last != tc.last) {
			t.Errorf("load %#x: %+v %v %v; want %#x at %#x-%#x", tc.index, e, ok, err, tc.raw, tc.first, tc.last)
		}
	}
	// Only the nodes on the way are read: a bad first leaf does not stop
	// a load in the second.
	k.put64(rootN+80, 0xdead000000000000|mapleLeaf64<<3|4)
	if e, ok, err := walk.MapleLoad(tree, 0x10000); err != nil || !ok || e.Raw != b {
		t.Errorf("load past a bad leaf: %+v %v %v", e, ok, err)
	}
	_, _, err := walk.MapleLoad(tree, 0x1000)
	wantErr(t, err, errUnmapped, 0xdead000000000000)
}

func TestRBFind(t *testing.T) {
	k, its := rbKernel(t)
	tree := mustVar(t, k.c, "tree")
	byID := func(want int64) func(value.Value) (int, error) {
		return func(v value.Value) (int, error) {
			m, err := v.Member("id")
			if err != nil {
				return 0, err
			}
			id, err := m.Int()
			return int(want - id), err
		}
	}
	for want := int64(1); want <= 7; want++ {
		v, ok, err := walk.RBFind(tree, "struct item", "rb", byID(want))
		if err != nil || !ok || v.Addr != its[want] {
			t.Errorf("find %d: %#x %v %v", want, v.Addr, ok, err)
		}
	}
	if _, ok, err := walk.RBFind(tree, "struct item", "rb", byID(9)); ok || err != nil {
		t.Errorf("find 9: %v %v", ok, err)
	}
	bad := errors.New("cmp failed")
	if _, _, err := walk.RBFind(tree, "struct item", "rb", func(value.Value) (int, error) { return 0, bad }); !errors.Is(err, bad) {
		t.Errorf("cmp's error: %v", err)
	}
	// A loop on the way down.
	rb := its[1] + k.offsetOf("struct item", "rb")
	k.put64(rb+16, its[4]+k.offsetOf("struct item", "rb"))
	_, _, err := walk.RBFind(tree, "struct item", "rb", byID(0))
	wantErr(t, err, walk.ErrCycle, its[4]+k.offsetOf("struct item", "rb"))
}
