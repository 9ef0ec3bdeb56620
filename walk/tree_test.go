package walk_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// rbKernel has a variable tree (struct rb_root_cached) holding items
// 1..7 as a balanced tree, and returns the items by id.
func rbKernel(t *testing.T) (*kernel, map[int64]uint64) {
	t.Helper()
	k := newKernel()
	root := k.variable("tree", "struct rb_root_cached")
	its := map[int64]uint64{}
	var build func(lo, hi int64) uint64
	build = func(lo, hi int64) uint64 {
		if lo > hi {
			return 0
		}
		mid := (lo + hi) / 2
		l, r := build(lo, mid-1), build(mid+1, hi)
		its[mid] = k.rbItem(mid, l, r)
		return its[mid]
	}
	top := build(1, 7)
	k.put64(root, top+k.offsetOf("struct item", "rb"))
	return k, its
}

func TestRBTree(t *testing.T) {
	k, its := rbKernel(t)
	tree := mustVar(t, k.c, "tree")
	got, err := walk.Collect(walk.RBTree(tree, "struct item", "rb"))
	if err != nil || !slices.Equal(ids(got), []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("RBTree = %v, %v", ids(got), err)
	}
	got, err = walk.Collect(walk.RBTreeReverse(tree, "struct item", "rb"))
	if err != nil || !slices.Equal(ids(got), []int64{7, 6, 5, 4, 3, 2, 1}) {
		t.Errorf("RBTreeReverse = %v, %v", ids(got), err)
	}
	// The plain rb_root inside works too.
	inner, _ := tree.Member("rb_root")
	got, err = walk.Collect(walk.RBTree(inner, "struct item", "rb"))
	if err != nil || len(got) != 7 {
		t.Errorf("RBTree(rb_root) = %v, %v", ids(got), err)
	}
	got, err = walk.Collect(walk.RBTree(tree, "struct item", "rb", walk.Max(3)))
	if len(got) != 3 {
		t.Errorf("Max(3): %v", ids(got))
	}
	wantErr(t, err, walk.ErrLimit, 0)
	_, err = walk.Collect(walk.RBTree(tree, "struct item", "link"))
	wantErr(t, err, walk.ErrLayout, 0)
	_, err = walk.Collect(walk.RBTree(mustVar(t, k.c, "tree"), "struct item", "nosuch"))
	wantErr(t, err, walk.ErrLayout, 0)

	// The raw nodes, in both orders, with their places.
	rb := func(id int64) uint64 { return its[id] + k.offsetOf("struct item", "rb") }
	var pre, in []string
	for n, err := range walk.RBNodes(k.c, rb(4), walk.PreOrder) {
		if err != nil {
			t.Fatal(err)
		}
		pre = append(pre, fmt.Sprintf("%d:%s", slices.Index([]uint64{0, rb(1), rb(2), rb(3), rb(4), rb(5), rb(6), rb(7)}, n.Addr), n.Path))
	}
	for n, err := range walk.RBNodes(k.c, rb(4), walk.InOrder) {
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, fmt.Sprintf("%d:%s", slices.Index([]uint64{0, rb(1), rb(2), rb(3), rb(4), rb(5), rb(6), rb(7)}, n.Addr), n.Path))
	}
	if want := []string{"4:", "2:l", "1:ll", "3:lr", "6:r", "5:rl", "7:rr"}; !slices.Equal(pre, want) {
		t.Errorf("RBNodes(PreOrder) = %v, want %v", pre, want)
	}
	if want := []string{"1:ll", "2:l", "3:lr", "4:", "5:rl", "6:r", "7:rr"}; !slices.Equal(in, want) {
		t.Errorf("RBNodes(InOrder) = %v, want %v", in, want)
	}
	nodes, err := walk.Collect(walk.RBNodes(k.c, rb(4), walk.PreOrder, walk.Max(2)))
	if len(nodes) != 2 {
		t.Errorf("RBNodes Max(2): %d", len(nodes))
	}
	wantErr(t, err, walk.ErrLimit, rb(1))
	old := k.get64(rb(1) + 8)
	k.put64(rb(1)+8, rb(4)) // 1's right child: the top
	_, err = walk.Collect(walk.RBNodes(k.c, rb(4), walk.InOrder))
	wantErr(t, err, walk.ErrCycle, rb(4))
	k.put64(rb(1)+8, old)
	if n, err := walk.Collect(walk.RBNodes(k.c, 0, walk.PreOrder)); err != nil || len(n) != 0 {
		t.Errorf("RBNodes(0) = %v, %v", n, err)
	}

	// Empty.
	k.put64(tree.Addr, 0)
	got, err = walk.Collect(walk.RBTree(tree, "struct item", "rb"))
	if err != nil || len(got) != 0 {
		t.Errorf("empty tree: %v, %v", ids(got), err)
	}
	_ = its
}

func TestRBTreeBroken(t *testing.T) {
	rb := func(k *kernel, it uint64) uint64 { return it + k.offsetOf("struct item", "rb") }
	t.Run("cycle", func(t *testing.T) {
		k, its := rbKernel(t)
		k.put64(rb(k, its[3])+8, rb(k, its[4])) // 3's right child: the root
		got, err := walk.Collect(walk.RBTree(mustVar(t, k.c, "tree"), "struct item", "rb"))
		if !slices.Equal(ids(got), []int64{1, 2, 3}) {
			t.Errorf("before the cycle: %v", ids(got))
		}
		wantErr(t, err, walk.ErrCycle, rb(k, its[4]))
	})
	t.Run("shared", func(t *testing.T) {
		k, its := rbKernel(t)
		k.put64(rb(k, its[6])+16, rb(k, its[2])) // 6's left: 2's subtree again
		_, err := walk.Collect(walk.RBTree(mustVar(t, k.c, "tree"), "struct item", "rb"))
		wantErr(t, err, walk.ErrCycle, rb(k, its[2]))
	})
	t.Run("garbage", func(t *testing.T) {
		k, its := rbKernel(t)
		k.put64(rb(k, its[5])+8, 0xdead000000000100)
		got, err := walk.Collect(walk.RBTree(mustVar(t, k.c, "tree"), "struct item", "rb"))
		if !slices.Equal(ids(got), []int64{1, 2, 3, 4, 5}) {
			t.Errorf("before the bad node: %v", ids(got))
		}
		wantErr(t, err, errUnmapped, 0xdead000000000100)
	})
	t.Run("deep", func(t *testing.T) {
		k := newKernel()
		root := k.variable("tree", "struct rb_root")
		var prev uint64
		for i := range 300 {
			prev = k.rbItem(int64(i), prev, 0)
		}
		k.put64(root, rb(k, prev))
		got, err := walk.Collect(walk.RBTree(mustVar(t, k.c, "tree"), "struct item", "rb"))
		if len(got) != 0 {
			t.Errorf("a 300-deep chain yielded %d entries", len(got))
		}
		wantErr(t, err, walk.ErrCorrupt, 0)
	})
}

func TestXArray(t *testing.T) {
	k := newKernel()
	xa := k.variable("xa", "struct xarray")
	x := mustVar(t, k.c, "xa")
	// Empty, then one entry at index 0 kept in the head.
	if got, err := walk.Collect(walk.XArray(x)); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
	it := k.item(42)
	k.put64(xa+8, it)
	got, err := walk.Collect(walk.XArray(x))
	if err != nil || len(got) != 1 || got[0].Index != 0 || got[0].Raw != it {
		t.Fatalf("single entry: %+v, %v", got, err)
	}
	if v, err := got[0].As("struct item"); err != nil || ids(toValues(v))[0] != 42 {
		t.Errorf("As: %v", err)
	}
	// Two levels: the root (shift 6) holds leaves for 0..63 and 128..191.
	root := k.xaNode(6)
	leaf0, leaf2 := k.xaNode(0), k.xaNode(0)
	k.put64(slot(root, 0), leaf0|2)
	k.put64(slot(root, 2), leaf2|2)
	k.put64(slot(root, 5), 0x406) // a zero (reserved) entry: skipped
	a, b, c := k.item(1), k.item(5), k.item(130)
	k.put64(slot(leaf0, 1), a)
	k.put64(slot(leaf0, 5), b)
	k.put64(slot(leaf0, 6), 0x402) // retry: skipped
	k.put64(slot(leaf0, 9), 77<<1|1)
	k.put64(slot(leaf2, 2), c)
	k.put64(slot(leaf2, 12), a) // a multi-index entry: 140..143
	k.put64(slot(leaf2, 13), 12<<2|2)
	k.put64(slot(leaf2, 14), 12<<2|2)
	k.put64(slot(leaf2, 15), 12<<2|2)
	k.put64(xa+8, root|2)
	got, err = walk.Collect(walk.XArray(x))
	type ent struct{ i, l, raw uint64 }
	var have []ent
	for _, e := range got {
		have = append(have, ent{e.Index, e.Last, e.Raw})
	}
	want := []ent{{1, 1, a}, {5, 5, b}, {9, 9, 77<<1 | 1}, {130, 130, c}, {140, 143, a}}
	if err != nil || !slices.Equal(have, want) {
		t.Errorf("XArray = %v, %v; want %v", have, err, want)
	}
	var places [][]int
	for _, e := range got {
		places = append(places, e.Slots)
	}
	if want := [][]int{{0, 1}, {0, 5}, {0, 9}, {2, 2}, {2, 12}}; !slices.EqualFunc(places, want, slices.Equal) {
		t.Errorf("Slots = %v, want %v", places, want)
	}
	// From the head word, and from the second leaf (its indices from 0).
	if from, err := walk.Collect(walk.XArrayFrom(k.c, root|2)); err != nil || len(from) != len(got) || from[3].Index != 130 {
		t.Errorf("XArrayFrom(root) = %+v, %v", from, err)
	}
	if from, err := walk.Collect(walk.XArrayFrom(k.c, leaf2|2)); err != nil || len(from) != 2 || from[0].Index != 2 || !slices.Equal(from[0].Slots, []int{2}) {
		t.Errorf("XArrayFrom(leaf) = %+v, %v", from, err)
	}
	if from, err := walk.Collect(walk.XArrayFrom(k.c, a)); err != nil || len(from) != 1 || from[0].Raw != a || from[0].Slots != nil {
		t.Errorf("XArrayFrom(entry) = %+v, %v", from, err)
	}
	if !got[2].IsValue() || got[2].Int() != 77 {
		t.Errorf("value entry: %+v", got[2])
	}
	if _, err := got[2].As("struct item"); err == nil {
		t.Error("As on a value entry: no error")
	}
	got, err = walk.Collect(walk.XArray(x, walk.Max(2)))
	if len(got) != 2 {
		t.Errorf("Max(2): %d entries", len(got))
	}
	wantErr(t, err, walk.ErrLimit, slot(leaf0, 9))

	// The radix tree is the same structure.
	if got, err := walk.Collect(walk.RadixTree(x)); err != nil || len(got) != 5 {
		t.Errorf("RadixTree: %d, %v", len(got), err)
	}

	// Corruption: a leaf whose shift does not fit, a node pointing back up,
	// an unreadable node, an unknown internal entry.
	for name, tc := range map[string]struct {
		at, val uint64
		target  error
		addr    uint64
	}{
		"shift":    {leaf2, 6, walk.ErrCorrupt, leaf2},
		"loop":     {slot(leaf0, 3), root | 2, walk.ErrCorrupt, slot(leaf0, 3)},
		"garbage":  {slot(root, 1), 0xdead000000000102, errUnmapped, 0xdead000000000100},
		"internal": {slot(leaf0, 7), 0x40a, walk.ErrCorrupt, slot(leaf0, 7)},
	} {
		old := k.get64(tc.at)
		if tc.at == leaf2 {
			k.mem.Write(leaf2, []byte{byte(tc.val)})
		} else {
			k.put64(tc.at, tc.val)
		}
		_, err := walk.Collect(walk.XArray(x))
		t.Run(name, func(t *testing.T) { wantErr(t, err, tc.target, tc.addr) })
		k.put64(tc.at, old)
	}
	// A root that holds itself: shift 6 under shift 6.
	k.put64(slot(root, 3), root|2)
	_, err = walk.Collect(walk.XArray(x))
	wantErr(t, err, walk.ErrCycle, root)
}

func TestIDR(t *testing.T) {
	k := newKernel()
	idr := k.variable("ids", "struct idr")
	leaf := k.xaNode(0)
	a, b := k.item(1), k.item(2)
	k.put64(slot(leaf, 0), a)
	k.put64(slot(leaf, 3), b)
	k.put64(idr+8, leaf|2)
	k.put32(idr+16, 100) // idr_base
	got, err := walk.Collect(walk.IDR(mustVar(t, k.c, "ids")))
	if err != nil || len(got) != 2 || got[0].Index != 100 || got[1].Index != 103 || got[1].Raw != b {
		t.Errorf("IDR = %+v, %v", got, err)
	}
	_, err = walk.Collect(walk.IDR(mustVar(t, k.c, "ids"), walk.Max(1)))
	wantErr(t, err, walk.ErrLimit, 0)
	// Not an idr.
	k.variable("xa", "struct xarray")
	_, err = walk.Collect(walk.IDR(mustVar(t, k.c, "xa")))
	wantErr(t, err, walk.ErrLayout, 0)
}

func TestMapleTree(t *testing.T) {
	k := newKernel()
	mt := k.variable("mt", "struct maple_tree")
	tree := mustVar(t, k.c, "mt")
	a, b, c, d, e := k.item(1), k.item(2), k.item(3), k.item(4), k.item(5)
	// One entry in the root: index 0.
	k.put64(mt+8, a)
	got, err := walk.Collect(walk.MapleTree(tree))
	if err != nil || len(got) != 1 || got[0].Index != 0 || got[0].Last != 0 || got[0].Raw != a {
		t.Errorf("root entry: %+v, %v", got, err)
	}
	// An arange_64 root over a range_64 node and a leaf; the range node
	// has two leaves.
	rootN, rootE := k.mapleNode(mapleArange)
	midN, midE := k.mapleNode(mapleRange64)
	l1N, l1E := k.mapleNode(mapleLeaf64)
	l2N, l2E := k.mapleNode(mapleLeaf64)
	l3N, l3E := k.mapleNode(mapleLeaf64)
	// root: 0..0x2fff -> mid, 0x3000..max -> l3
	k.setArange(rootN, []uint64{0x2fff}, []uint64{midE, l3E})
	// mid: 0..0xfff -> l1, 0x1000..0x2fff -> l2
	k.setRange64(midN, []uint64{0xfff, 0x2fff}, []uint64{l1E, l2E})
	// l1: 0..0x0fff: gap, 0x100..0x1ff a, 0x200..0xfff gap
	k.setRange64(l1N, []uint64{0xff, 0x1ff, 0xfff}, []uint64{0, a, 0})
	// l2: 0x1000..0x1fff b, 0x2000..0x2fff c
	k.setRange64(l2N, []uint64{0x1fff, 0x2fff}, []uint64{b, c})
	// l3: 0x3000..0x3000 d, 0x3001..0x4fff a zero entry, 0x5000..max e
	k.setRange64(l3N, []uint64{0x3000, 0x4fff, ^uint64(0)}, []uint64{d, 0x406, e})
	k.put64(mt+8, rootE|2)
	got, err = walk.Collect(walk.MapleTree(tree))
	type ent struct{ i, l, raw uint64 }
	var have []ent
	for _, e := range got {
		have = append(have, ent{e.Index, e.Last, e.Raw})
	}
	want := []ent{{0x100, 0x1ff, a}, {0x1000, 0x1fff, b}, {0x2000, 0x2fff, c}, {0x3000, 0x3000, d}, {0x5000, ^uint64(0), e}}
	if err != nil || !slices.Equal(have, want) {
		t.Errorf("MapleTree = %x, %v\nwant %x", have, err, want)
	}
	var places [][]int
	for _, e := range got {
		places = append(places, e.Slots)
	}
	if want := [][]int{{0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {1, 0}, {1, 2}}; !slices.EqualFunc(places, want, slices.Equal) {
		t.Errorf("Slots = %v, want %v", places, want)
	}
	if from, err := walk.Collect(walk.MapleFrom(k.c, l2E)); err != nil || len(from) != 2 || from[0].Index != 0 || from[0].Last != 0x1fff || from[1].Raw != c {
		t.Errorf("MapleFrom(leaf) = %+v, %v", from, err)
	}
	if from, err := walk.Collect(walk.MapleFrom(k.c, rootE|2)); err != nil || len(from) != len(want) {
		t.Errorf("MapleFrom(root) = %+v, %v", from, err)
	}
	got, err = walk.Collect(walk.MapleTree(tree, walk.Max(3)))
	if len(got) != 3 {
		t.Errorf("Max(3): %d", len(got))
	}
	wantErr(t, err, walk.ErrLimit, 0)

	// A full leaf: all 16 slots, the last one up to the node's max.
	full, fullE := k.mapleNode(mapleLeaf64)
	var pivots, slots []uint64
	for i := range 16 {
		if i < 15 {
			pivots = append(pivots, uint64(i)*10+9)
		}
		slots = append(slots, k.item(int64(100+i)))
	}
	k.setRange64(full, pivots, slots)
	k.put64(mt+8, fullE|2)
	got, err = walk.Collect(walk.MapleTree(tree))
	if err != nil || len(got) != 16 || got[15].Index != 150 || got[15].Last != ^uint64(0) {
		t.Errorf("full leaf: %d entries, last %+v, %v", len(got), got[len(got)-1], err)
	}
	// A dense leaf under a range node.
	top, topE := k.mapleNode(mapleRange64)
	dense, denseE := k.mapleNode(mapleDense)
	k.setRange64(top, []uint64{99, ^uint64(0)}, []uint64{0, denseE})
	k.put64(dense+8+8*2, b) // index 102
	k.put64(dense+8+8*30, c)
	k.put64(mt+8, topE|2)
	got, err = walk.Collect(walk.MapleTree(tree))
	if err != nil || len(got) != 2 || got[0].Index != 102 || got[0].Raw != b || got[1].Index != 130 {
		t.Errorf("dense: %+v, %v", got, err)
	}

	// Corruption.
	k.put64(mt+8, rootE|2)
	for name, tc := range map[string]struct {
		at, val uint64
		target  error
		addr    uint64
	}{
		"type":     {rootN + 80, midN | 7<<3 | 4, walk.ErrCorrupt, midN},
		"pivots":   {l2N + 8, 0x0fff, walk.ErrCorrupt, l2N + 8},
		"garbage":  {midN + 128, 0xdead000000000014, errUnmapped, 0xdead000000000000},
		"loop":     {l1N + 128 + 8, 0, nil, 0}, // not a loop: a hole, fine
		"backlink": {midN + 128 + 8, rootN | mapleArange<<3 | 4, walk.ErrCycle, rootN},
	} {
		old := k.get64(tc.at)
		k.put64(tc.at, tc.val)
		_, err := walk.Collect(walk.MapleTree(tree))
		t.Run(name, func(t *testing.T) {
			if tc.target == nil {
				if err != nil {
					t.Error(err)
				}
				return
			}
			wantErr(t, err, tc.target, tc.addr)
		})
		k.put64(tc.at, old)
	}
	_, err = walk.Collect(walk.MapleTree(mustVar(t, k.c, "mt"), walk.Max(1)))
	wantErr(t, err, walk.ErrLimit, 0)
}

func toValues(vs ...value.Value) []value.Value { return vs }

// TestRadixTree418: the radix tree before 4.20: nodes tagged 01, siblings
// pointing into their node's slots, exceptional entries tagged 10, the
// retry entry 1; and an idr made of one.
func TestRadixTree418(t *testing.T) {
	k := newKernel()
	rt := k.variable("tree", "struct radix_tree_root")
	root := k.xaNode(6) // the same layout as an xa_node
	leaf := k.xaNode(0)
	a, b := k.item(1), k.item(2)
	k.put64(slot(root, 0), leaf|1)
	k.put64(slot(root, 3), b)               // 192..255
	k.put64(slot(root, 4), slot(root, 3)|1) // its sibling: 256..319
	k.put64(slot(leaf, 2), a)
	k.put64(slot(leaf, 7), 33<<2|2) // exceptional
	k.put64(slot(leaf, 8), 1)       // retry: skipped
	k.put64(rt+8, root|1)
	x := mustVar(t, k.c, "tree")
	got, err := walk.Collect(walk.RadixTree(x))
	type ent struct{ i, l, raw uint64 }
	var have []ent
	for _, e := range got {
		have = append(have, ent{e.Index, e.Last, e.Raw})
	}
	want := []ent{{2, 2, a}, {7, 7, 33<<2 | 2}, {192, 319, b}}
	if err != nil || !slices.Equal(have, want) {
		t.Errorf("RadixTree = %x, %v; want %x", have, err, want)
	}
	if len(got) == 3 && (!got[1].IsValue() || got[1].Int() != 33 || got[0].IsValue()) {
		t.Errorf("exceptional entry: %v %d", got[1].IsValue(), got[1].Int())
	}
	// One entry in the root.
	k.put64(rt+8, a)
	got, err = walk.Collect(walk.RadixTree(x))
	if err != nil || len(got) != 1 || got[0].Raw != a || got[0].Index != 0 {
		t.Errorf("root entry: %+v, %v", got, err)
	}
	// A sibling before its entry, and an entry tagged 11, are corrupt.
	k.put64(rt+8, root|1)
	k.put64(slot(root, 2), slot(root, 3)|1)
	_, err = walk.Collect(walk.RadixTree(x))
	wantErr(t, err, walk.ErrCorrupt, slot(root, 2))
	k.put64(slot(root, 2), 0)
	k.put64(slot(leaf, 9), 0x1003)
	_, err = walk.Collect(walk.RadixTree(x))
	wantErr(t, err, walk.ErrCorrupt, slot(leaf, 9))
	k.put64(slot(leaf, 9), 0)

	// An idr of 4.16-4.19.
	k.src.Types["struct idr"] = k.src.Types["struct idr (4.18)"]
	idr := k.variable("ids", "struct idr")
	k.put64(idr+8, leaf|1)
	k.put32(idr+16, 1)
	got, err = walk.Collect(walk.IDR(mustVar(t, k.c, "ids")))
	if err != nil || len(got) != 2 || got[0].Index != 3 || got[0].Raw != a || got[1].Index != 8 {
		t.Errorf("IDR (4.18) = %+v, %v", got, err)
	}
}
