package walk_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// listKernel has a variable items (struct list_head) with items 1..5 on
// it, linked through item.link.
func listKernel(t *testing.T) (*kernel, []uint64) {
	t.Helper()
	k := newKernel()
	head := k.variable("items", "struct list_head")
	var its []uint64
	for i := range 5 {
		its = append(its, k.item(int64(i+1)))
	}
	k.list(head, "link", its...)
	return k, its
}

func mustVar(t testing.TB, c *value.Context, name string) value.Value {
	t.Helper()
	v, err := c.Var(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantErr checks that err is a *walk.Error wrapping target (nil: any
// error) whose message names addr.
func wantErr(t *testing.T, err error, target error, addr uint64) {
	t.Helper()
	var we *walk.Error
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T), want a *walk.Error", err, err)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %v, want one wrapping %v", err, target)
	}
	if addr != 0 && !strings.Contains(err.Error(), fmt.Sprintf("%#x", addr)) {
		t.Errorf("error %q does not name %#x", err, addr)
	}
}

func TestList(t *testing.T) {
	k, its := listKernel(t)
	head := mustVar(t, k.c, "items")
	got, err := walk.Collect(walk.List(head, "struct item", "link"))
	if err != nil || !slices.Equal(ids(got), []int64{1, 2, 3, 4, 5}) {
		t.Errorf("List = %v, %v", ids(got), err)
	}
	if got[0].Addr != its[0] {
		t.Errorf("first entry at %#x, want %#x", got[0].Addr, its[0])
	}
	got, err = walk.Collect(walk.ListReverse(head, "struct item", "link"))
	if err != nil || !slices.Equal(ids(got), []int64{5, 4, 3, 2, 1}) {
		t.Errorf("ListReverse = %v, %v", ids(got), err)
	}
	// A pointer to the head walks the same list.
	p := k.c.Constant(ptr(head.Type), le64(head.Addr), "&items")
	got, err = walk.Collect(walk.List(p, "struct item", "link"))
	if err != nil || len(got) != 5 {
		t.Errorf("List(&items) = %v, %v", ids(got), err)
	}
	// Breaking out of the loop stops the walk.
	n := 0
	for v, err := range walk.List(head, "struct item", "link") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if id := ids([]value.Value{v})[0]; id == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("break after the second entry: %d entries seen", n)
	}
	// From an entry without the head, as crash's list does: the head
	// comes round as a bogus entry.
	third, _ := k.c.At("struct item", its[2])
	got, err = walk.Collect(walk.ListFrom(third, "link"))
	if err != nil || len(got) != 6 || got[0].Addr != its[2] || got[3].Addr != head.Addr-8 || got[5].Addr != its[1] {
		t.Errorf("ListFrom(item 3) = %v, %v", ids(got), err)
	}
	// An empty list.
	k.list(head.Addr, "link")
	got, err = walk.Collect(walk.List(head, "struct item", "link"))
	if err != nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", ids(got), err)
	}
}

func le64(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func TestListBroken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(k *kernel, its []uint64) uint64 // returns the address the error names
		target  error
		max     int
		entries int
	}{
		{"null", func(k *kernel, its []uint64) uint64 { k.put64(its[2]+8, 0); return its[2] + 8 }, walk.ErrCorrupt, 0, 3},
		{"cycle", func(k *kernel, its []uint64) uint64 { k.put64(its[3]+8, its[1]+8); return its[1] + 8 }, walk.ErrCycle, 0, 4},
		{"self", func(k *kernel, its []uint64) uint64 { k.put64(its[0]+8, its[0]+8); return its[0] + 8 }, walk.ErrCycle, 0, 1},
		{"garbage", func(k *kernel, its []uint64) uint64 { k.put64(its[1]+8, 0xdead000000000100); return 0xdead000000000100 }, errUnmapped, 0, 2},
		{"limit", func(k *kernel, its []uint64) uint64 { return its[3] + 8 }, walk.ErrLimit, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, its := listKernel(t)
			addr := tc.damage(k, its)
			got, err := walk.Collect(walk.List(mustVar(t, k.c, "items"), "struct item", "link", walk.Max(tc.max)))
			if len(got) != tc.entries {
				t.Errorf("%d entries before the error, want %d", len(got), tc.entries)
			}
			wantErr(t, err, tc.target, addr)
		})
	}
}

func TestListLayout(t *testing.T) {
	k, its := listKernel(t)
	head := mustVar(t, k.c, "items")
	for _, tc := range []struct {
		head         value.Value
		typ, member  string
		wantInString string
	}{
		{head, "struct item", "nosuch", `no member "nosuch"`},
		{head, "struct item", "rb", "not a struct list_head"},
		{head, "struct nosuch", "link", "struct nosuch"},
		{k.c.Typed(k.src.Types["struct item"], its[0], "item"), "struct item", "link", "not a struct list_head"},
	} {
		_, err := walk.Collect(walk.List(tc.head, tc.typ, tc.member))
		wantErr(t, err, walk.ErrLayout, 0)
		if err != nil && !strings.Contains(err.Error(), tc.wantInString) {
			t.Errorf("%s.%s: %v, want %q in it", tc.typ, tc.member, err, tc.wantInString)
		}
	}
	_, err := walk.Collect(walk.List(value.Value{}, "struct item", "link"))
	wantErr(t, err, nil, 0)
	null := k.c.Constant(ptr(head.Type), make([]byte, 8), "(struct list_head *)0")
	_, err = walk.Collect(walk.List(null, "struct item", "link"))
	wantErr(t, err, nil, 0)
	if err != nil && !strings.Contains(err.Error(), "NULL") {
		t.Errorf("NULL head: %v", err)
	}
}

func TestHList(t *testing.T) {
	k := newKernel()
	head := k.variable("table", "struct hlist_head")
	off := k.offsetOf("struct item", "hnode")
	var its []uint64
	for i := range 4 {
		its = append(its, k.item(int64(10+i)))
	}
	k.put64(head, its[0]+off)
	for i := 0; i < 3; i++ {
		k.put64(its[i]+off, its[i+1]+off)
	}
	hv := mustVar(t, k.c, "table")
	got, err := walk.Collect(walk.HList(hv, "struct item", "hnode"))
	if err != nil || !slices.Equal(ids(got), []int64{10, 11, 12, 13}) {
		t.Errorf("HList = %v, %v", ids(got), err)
	}
	second, _ := k.c.At("struct item", its[1])
	got, err = walk.Collect(walk.HListFrom(second, "hnode"))
	if err != nil || !slices.Equal(ids(got), []int64{11, 12, 13}) {
		t.Errorf("HListFrom = %v, %v", ids(got), err)
	}
	k.put64(its[3]+off, its[1]+off)
	got, err = walk.Collect(walk.HList(hv, "struct item", "hnode"))
	if len(got) != 4 {
		t.Errorf("cycle: %d entries", len(got))
	}
	wantErr(t, err, walk.ErrCycle, its[1]+off)
	got, err = walk.Collect(walk.HList(hv, "struct item", "hnode", walk.Max(2)))
	if len(got) != 2 {
		t.Errorf("Max(2): %d entries", len(got))
	}
	wantErr(t, err, walk.ErrLimit, its[2]+off)
	_, err = walk.Collect(walk.HList(hv, "struct item", "link"))
	wantErr(t, err, walk.ErrLayout, 0)

	// A lock-less list (its node shares the hlist_node's place in the
	// test's struct item).
	lh := k.variable("lockless", "struct llist_head")
	k.put64(lh, its[1]+off)
	got, err = walk.Collect(walk.LList(mustVar(t, k.c, "lockless"), "struct item", "lnode"))
	if !slices.Equal(ids(got), []int64{11, 12, 13, 11}[:len(got)]) || len(got) != 3 {
		t.Errorf("LList = %v", ids(got))
	}
	wantErr(t, err, walk.ErrCycle, its[1]+off)
	_, err = walk.Collect(walk.LList(mustVar(t, k.c, "lockless"), "struct item", "hnode"))
	wantErr(t, err, walk.ErrLayout, 0)

	// A bit-locked hlist, locked: the first pointer's low bit is the lock.
	bl := k.variable("bl", "struct hlist_bl_head")
	k.put64(its[2]+off, 0)
	k.put64(bl, (its[1]+off)|1)
	got, err = walk.Collect(walk.HListBL(mustVar(t, k.c, "bl"), "struct item", "blnode"))
	if err != nil || !slices.Equal(ids(got), []int64{11, 12}) {
		t.Errorf("HListBL = %v, %v", ids(got), err)
	}

	// A nulls list ends at an odd marker.
	nh := k.variable("nulls", "struct hlist_nulls_head")
	noff := k.offsetOf("struct item", "nnode")
	k.put64(nh, its[2]+noff)
	k.put64(its[2]+noff, its[0]+noff)
	k.put64(its[0]+noff, 7<<1|1)
	got, err = walk.Collect(walk.HListNulls(mustVar(t, k.c, "nulls"), "struct item", "nnode"))
	if err != nil || !slices.Equal(ids(got), []int64{12, 10}) {
		t.Errorf("HListNulls = %v, %v", ids(got), err)
	}
}

func TestContainerOf(t *testing.T) {
	k, its := listKernel(t)
	it, err := k.c.At("struct item", its[2])
	if err != nil {
		t.Fatal(err)
	}
	link, err := it.Member("link")
	if err != nil {
		t.Fatal(err)
	}
	// From the member itself and from a pointer to it (the previous
	// item's link.next).
	prev, _ := k.c.At("struct item", its[1])
	next, err := prev.Member("link.next")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []value.Value{link, next} {
		got, err := walk.ContainerOf(v, "struct item", "link")
		if err != nil || got.Addr != its[2] || ids([]value.Value{got})[0] != 3 {
			t.Errorf("ContainerOf(%s) = %#x, %v; want item 3 at %#x", v.Expr, got.Addr, err, its[2])
		}
	}
	if _, err := walk.ContainerOf(link, "struct item", "nosuch"); err == nil {
		t.Error("no such member: no error")
	}
	if _, err := walk.ContainerOf(value.Value{}, "struct item", "link"); err == nil {
		t.Error("zero Value: no error")
	}
}

// TestChain follows raw links as crash's list does: to the head, to a
// NULL, to a stop address; a loop that misses the head is a cycle, an
// unreadable link an error naming the element, and Max bounds the walk.
func TestChain(t *testing.T) {
	k, its := listKernelF()
	h, _ := k.c.Var("items")
	linkOf := func(it uint64) uint64 { return it + uint64(k.offsetOf("struct item", "link")) }
	addrs := func(seq func(func(uint64, error) bool)) ([]uint64, error) {
		var out []uint64
		for a, err := range seq {
			if err != nil {
				return out, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	got, err := addrs(walk.Chain(k.c, h.Addr, 0, 8, []uint64{h.Addr}))
	want := []uint64{h.Addr, linkOf(its[0]), linkOf(its[1]), linkOf(its[2])}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ring: %x, %v; want %x", got, err, want)
	}
	// Backwards through prev, stopping at the second item's link.
	got, err = addrs(walk.Chain(k.c, h.Addr, 8, 8, []uint64{h.Addr, linkOf(its[1])}))
	if want := []uint64{h.Addr, linkOf(its[2])}; err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reverse with a stop: %x, %v; want %x", got, err, want)
	}
	// Bounded.
	if _, err := addrs(walk.Chain(k.c, h.Addr, 0, 8, []uint64{h.Addr}, walk.Max(2))); !errors.Is(err, walk.ErrLimit) {
		t.Errorf("Max(2): %v", err)
	}
	// A loop that misses the head: 3 -> 2.
	k.put64(linkOf(its[2]), linkOf(its[1]))
	got, err = addrs(walk.Chain(k.c, h.Addr, 0, 8, []uint64{h.Addr}))
	var we *walk.Error
	if !errors.Is(err, walk.ErrCycle) || !errors.As(err, &we) || we.Addr != linkOf(its[1]) || len(got) != 4 {
		t.Errorf("cycle: %x, %v", got, err)
	}
	// A NULL ends the chain without an error (crash's lists of raw
	// pointers end so).
	k.put64(linkOf(its[1]), 0)
	if got, err = addrs(walk.Chain(k.c, h.Addr, 0, 8, []uint64{h.Addr})); err != nil || len(got) != 3 {
		t.Errorf("NULL end: %x, %v", got, err)
	}
	// An unreadable link.
	k.put64(linkOf(its[0]), 0xffff888012345000)
	if _, err = addrs(walk.Chain(k.c, h.Addr, 0, 8, []uint64{h.Addr})); err == nil || !strings.Contains(err.Error(), "element 2") {
		t.Errorf("unreadable: %v", err)
	}
}
