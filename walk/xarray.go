package walk

import (
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"strings"

	"github.com/vmcoretools/vmcore/value"
)

// Entry is one entry of an indexed structure (an xarray, a radix tree, an
// idr, a maple tree): the indices it covers and the word stored for them.
type Entry struct {
	// Index..Last are the indices the entry covers: equal for an entry
	// stored at one index; a multi-index xarray entry or a maple tree
	// range covers several.
	Index, Last uint64
	// Raw is the word stored: a pointer, or a value entry (see IsValue).
	Raw uint64
	// Slots is the entry's place in the tree: the slot taken in each
	// node from the top node down, the last one holding the entry; nil
	// for an entry held by the root itself (a tree of one entry at index
	// 0). crash's tree -p prints it as a position, root/1/26.
	Slots []int

	c     *value.Context
	radix bool // from a radix tree before 4.20: value entries are tagged 10
}

// IsValue reports whether the entry is a value entry (xa_is_value: an
// integer stored in place of a pointer, with the low bit set; in the radix
// tree before 4.20, an exceptional entry, tagged 10), such as the swap and
// shadow entries of a page cache.
func (e Entry) IsValue() bool {
	if e.radix {
		return e.Raw&3 == 2
	}
	return e.Raw&1 != 0
}

// Int returns a value entry's integer (xa_to_value; radix trees before
// 4.20: the exceptional entry shifted by RADIX_TREE_EXCEPTIONAL_SHIFT).
func (e Entry) Int() uint64 {
	if e.radix {
		return e.Raw >> 2
	}
	return e.Raw >> 1
}

// As returns the object of type typ (a name as ktype.Source spells it,
// "struct pid") that the entry points to.
func (e Entry) As(typ string) (value.Value, error) {
	if e.c == nil {
		return value.Value{}, fmt.Errorf("walk: entry %d has no context", e.Index)
	}
	if e.IsValue() {
		return value.Value{}, fmt.Errorf("walk: entry %d is the value %d, not a pointer", e.Index, e.Int())
	}
	if e.Raw == 0 {
		return value.Value{}, fmt.Errorf("walk: entry %d is NULL", e.Index)
	}
	v, err := e.c.At(typ, e.Raw)
	if err != nil {
		return value.Value{}, err
	}
	v.Expr = fmt.Sprintf("(%s *)%#x", typ, e.Raw)
	return v, nil
}

// The xarray's internal entries (include/linux/xarray.h): the low two
// bits 10 mark an internal entry; above 4096 it is a node, below
// XA_CHUNK_SIZE-1 a sibling (the index of the slot holding the entry),
// 256 a retry entry and 257 a zero (reserved) entry.
const (
	xaRetry = 256<<2 | 2
	xaZero  = 257<<2 | 2
)

func xaIsInternal(e uint64) bool { return e&3 == 2 }
func xaIsNode(e uint64) bool     { return xaIsInternal(e) && e > 4096 }

// xaLayout is what the walk needs of struct xa_node.
type xaLayout struct {
	name                          string // "xa_node", "radix_tree_node"
	size, shiftOff, slotsOff, ptr int64
	chunk                         int64 // slots per node: XA_CHUNK_SIZE
	chunkShift                    int   // log2(chunk)
}

func (w *walker) xaLayout(nodeType string) (*xaLayout, error) {
	t, err := w.sourceType(nodeType)
	if err != nil {
		return nil, err
	}
	l := &xaLayout{name: strings.TrimPrefix(nodeType, "struct "), size: t.Size()}
	m, err := w.member(t, "shift")
	if err != nil {
		return nil, err
	}
	if m.Type.Size() != 1 {
		return nil, w.layout(fmt.Errorf("%s.shift is %d bytes", nodeType, m.Type.Size()))
	}
	l.shiftOff = m.Offset
	m, err = w.member(t, "slots")
	if err != nil {
		return nil, err
	}
	l.slotsOff = m.Offset
	m, err = w.member(t, "slots[0]")
	if err != nil {
		return nil, err
	}
	l.ptr = m.Type.Size()
	if l.ptr != 4 && l.ptr != 8 {
		return nil, w.layout(fmt.Errorf("%s.slots holds %d-byte words", nodeType, l.ptr))
	}
	m, _ = w.member(t, "slots")
	l.chunk = m.Type.Size() / l.ptr
	if l.chunk < 2 || l.chunk&(l.chunk-1) != 0 || l.size < l.slotsOff+l.chunk*l.ptr {
		return nil, w.layout(fmt.Errorf("%s.slots has %d slots, not a power of two", nodeType, l.chunk))
	}
	l.chunkShift = bits.TrailingZeros64(uint64(l.chunk))
	return l, nil
}

// XArray walks an xarray in index order, yielding every entry present:
// xa_for_each. xa is a struct xarray (or a pointer to one). Zero
// (reserved) and retry entries are skipped; a multi-index entry is yielded
// once, with the indices its sibling slots cover.
//
// A node whose shift does not fit its place in the tree, an internal entry
// that is none the kernel makes, a node reached twice, an unreadable node,
// or more than Max entries or nodes end the walk with an *Error.
func XArray(xa value.Value, opts ...Option) iter.Seq2[Entry, error] {
	return xaWalk(xa, "xarray", 0, nil, opts)
}

// RadixTree walks a radix tree in index order. Since Linux 4.20 a radix
// tree is an xarray (radix_tree_root is #defined to xarray, so the
// debuginfo knows the variable as a struct xarray) and is walked as
// XArray walks it. Before, from 4.7 (struct radix_tree_root with its
// rnode, nodes with a shift), internal nodes are tagged 01, a retry entry
// is 1, sibling entries point into their node's slots, and exceptional
// entries (tagged 10) are its value entries. Older radix trees (nodes
// with a height) are an ErrLayout error.
func RadixTree(root value.Value, opts ...Option) iter.Seq2[Entry, error] {
	return xaWalk(root, "radix_tree_root", 0, nil, opts)
}

// IDR walks a struct idr (or a pointer to one) in id order: idr_for_each.
// Its entries' indices are ids: the xarray's index plus the idr's
// idr_base.
func IDR(idr value.Value, opts ...Option) iter.Seq2[Entry, error] {
	return idrWalk(idr, nil, opts)
}

// IDRFind returns the entry of id in the struct idr (or pointer to one)
// idr: idr_find. ok is false when the idr holds nothing for id.
func IDRFind(idr value.Value, id uint64, opts ...Option) (e Entry, ok bool, err error) {
	return firstOf(idrWalk(idr, &id, opts))
}

// XArrayLoad returns the entry an xarray (or a radix tree) holds at index:
// xa_load. ok is false when nothing is stored there. It reads only the
// nodes on the way to index.
func XArrayLoad(xa value.Value, index uint64, opts ...Option) (e Entry, ok bool, err error) {
	return firstOf(xaWalk(xa, "xarray", 0, &index, opts))
}

// firstOf returns a walk's first element.
func firstOf[T any](seq iter.Seq2[T, error]) (T, bool, error) {
	for v, err := range seq {
		return v, err == nil, err
	}
	var zero T
	return zero, false, nil
}

func idrWalk(idr value.Value, target *uint64, opts []Option) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		v, err := object(idr, "idr")
		if err != nil {
			yield(Entry{}, err)
			return
		}
		w := newWalker(v.Context(), "idr", v.Addr, opts)
		if err := w.isStruct(v.Type, "idr", "idr"); err != nil {
			yield(Entry{}, err)
			return
		}
		rt, err := v.Member("idr_rt")
		if err != nil {
			yield(Entry{}, w.layout(err))
			return
		}
		var base uint64
		if b, err := v.Member("idr_base"); err == nil { // 4.16 and later
			if base, err = b.Uint(); err != nil {
				yield(Entry{}, w.fail(b.Addr, "idr_base", err))
				return
			}
		}
		if target != nil && *target < base {
			return
		}
		for e, err := range xaWalk(rt, "idr", base, target, opts) {
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// xaWalk walks the xarray or radix tree xa, its indices offset by base;
// with a target, only the entry covering base+*target, reading only the
// nodes on its way.
func xaWalk(xa value.Value, kind string, base uint64, target *uint64, opts []Option) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		v, err := object(xa, kind)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		w := newWalker(v.Context(), kind, v.Addr, opts)
		headMember, nodeType := "xa_head", "struct xa_node"
		radix := w.isStruct(v.Type, "radix_tree_root", "root") == nil
		if radix {
			headMember, nodeType = "rnode", "struct radix_tree_node"
		} else if err := w.isStruct(v.Type, "xarray", "root"); err != nil {
			yield(Entry{}, err)
			return
		}
		headOff, size, err := w.pointerMember(v.Type, headMember)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		l, err := w.xaLayout(nodeType)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		head, err := w.readWord(v.Addr+uint64(headOff), size, structName(v.Type)+"."+headMember)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		x := &xaWalker{walker: w, l: l, base: base, radix: radix, yield: yield}
		if target != nil {
			t := *target - base
			x.target = &t
		}
		x.run(head, v.Addr)
	}
}

// XArrayFrom walks an xarray from the word its xa_head holds rather than
// from the struct xarray (crash's tree -t xarray -N): head is a node entry
// (a struct xa_node's address tagged as an internal entry) or the single
// entry at index 0. Indices count from 0 under the top node, as they do
// in a whole xarray; under an inner node, from its first slot.
func XArrayFrom(c *value.Context, head uint64, opts ...Option) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		w := newWalker(c, "xarray", head, opts)
		l, err := w.xaLayout("struct xa_node")
		if err != nil {
			yield(Entry{}, err)
			return
		}
		(&xaWalker{walker: w, l: l, yield: yield}).run(head, head)
	}
}

// run walks from the tree's head entry, read at from.
func (x *xaWalker) run(head, from uint64) {
	if x.isNode(head) {
		x.node(head, 0, -1, from)
		return
	}
	if x.target == nil || *x.target == 0 {
		x.entry(head, 0, 0, from)
	}
}

type xaWalker struct {
	*walker
	l       *xaLayout
	base    uint64  // added to every index (an idr's idr_base)
	radix   bool    // a radix tree before 4.20
	target  *uint64 // only the entry covering this index (a load)
	yield   func(Entry, error) bool
	stopped bool
	path    []int // the slot taken in each node on the way to the current one
}

// enter and leave keep path: enter adds a level for a node's slots, slot
// sets the current level's slot, leave drops the level.
func (x *xaWalker) enter()     { x.path = append(x.path, 0) }
func (x *xaWalker) slot(i int) { x.path[len(x.path)-1] = i }
func (x *xaWalker) leave()     { x.path = x.path[:len(x.path)-1] }

// misses reports whether first..last leaves out the target of a load.
func (x *xaWalker) misses(first, last uint64) bool {
	return x.target != nil && (*x.target < first || *x.target > last)
}

// The radix tree before 4.20 (lib/radix-tree.c): internal entries are
// tagged 01 (RADIX_TREE_INTERNAL_NODE), the retry entry is the internal
// NULL, exceptional entries are tagged 10.
const radixRetry = 1

// isNode tells a pointer to a node: at the root, or in a node's slot
// when it is not a sibling (see node).
func (x *xaWalker) isNode(e uint64) bool {
	if x.radix {
		return e&3 == 1 && e != radixRetry
	}
	return xaIsNode(e)
}

// nodeAddr is the address of the node an internal node entry points to.
func (x *xaWalker) nodeAddr(e uint64) uint64 {
	if x.radix {
		return e &^ 1
	}
	return e - 2
}

// stop reports err (if any) and ends the walk.
func (x *xaWalker) stop(err error) {
	if !x.stopped && err != nil {
		x.yield(Entry{}, err)
	}
	x.stopped = true
}

// entry yields a leaf entry covering first..last, at slot address at.
func (x *xaWalker) entry(e, first, last, at uint64) {
	switch {
	case x.radix && (e == 0 || e == radixRetry):
		return
	case x.radix && e&1 != 0:
		x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: internal entry %#x where an entry belongs", ErrCorrupt, e)))
		return
	case x.radix:
	case e == 0 || e == xaZero || e == xaRetry:
		return
	case xaIsInternal(e):
		x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: internal entry %#x where an entry belongs", ErrCorrupt, e)))
		return
	}
	if x.base > ^uint64(0)-last {
		// An idr whose base puts its ids past the last index: the ids
		// would wrap around.
		x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: index %#x plus the idr base %#x is past the last index", ErrCorrupt, last, x.base)))
		return
	}
	if err := x.count(at, x.kind+" slot"); err != nil {
		x.stop(err)
		return
	}
	var slots []int
	if len(x.path) > 0 {
		slots = slices.Clone(x.path)
	}
	if !x.yield(Entry{Index: x.base + first, Last: x.base + last, Raw: e, Slots: slots, c: x.c, radix: x.radix}, nil) {
		x.stopped = true
	}
}

// node walks the node enc (an internal node entry) covering indices from
// base up; parentShift is its parent's shift, -1 at the root.
func (x *xaWalker) node(enc, base uint64, parentShift int, from uint64) {
	addr := x.nodeAddr(enc)
	if err := x.visit(addr, fmt.Sprintf("%s (from %#x)", x.l.name, from)); err != nil {
		x.stop(err)
		return
	}
	b := make([]byte, x.l.size)
	if err := x.read(b, addr, x.l.name); err != nil {
		x.stop(err)
		return
	}
	shift := int(b[x.l.shiftOff])
	cs := x.l.chunkShift
	x.enter()
	defer x.leave()
	switch {
	case parentShift >= 0 && shift != parentShift-cs:
		x.stop(x.fail(addr, x.l.name+".shift", fmt.Errorf("%w: shift %d under a node of shift %d", ErrCorrupt, shift, parentShift)))
		return
	case shift%cs != 0 || shift >= 64:
		x.stop(x.fail(addr, x.l.name+".shift", fmt.Errorf("%w: shift %d", ErrCorrupt, shift)))
		return
	}
	for i := int64(0); i < x.l.chunk && !x.stopped; i++ {
		at := addr + uint64(x.l.slotsOff+i*x.l.ptr)
		e := x.word(b, x.l.slotsOff+i*x.l.ptr, x.l.ptr)
		if e == 0 {
			continue
		}
		x.slot(int(i))
		if shift > 0 && uint64(i) > ^uint64(0)>>uint(shift) {
			x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: slot %d of a node of shift %d is past the last index", ErrCorrupt, i, shift)))
			return
		}
		first := base + uint64(i)<<uint(shift)
		slots := addr + uint64(x.l.slotsOff)
		if x.radix && e&3 == 1 && e&^1 >= slots && e&^1 < slots+uint64(x.l.chunk*x.l.ptr) {
			// A sibling: it points to the slot holding the entry.
			if j := int64(e&^1-slots) / x.l.ptr; j >= i {
				x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: sibling of slot %d at slot %d", ErrCorrupt, j, i)))
			}
			continue
		}
		if x.isNode(e) {
			if x.misses(first, first+(uint64(1)<<uint(shift)-1)) {
				continue
			}
			if shift == 0 {
				x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: node entry %#x in a leaf node", ErrCorrupt, e)))
				return
			}
			x.node(e, first, shift, addr)
			continue
		}
		if !x.radix && xaIsInternal(e) && e>>2 < uint64(x.l.chunk-1) { // a sibling
			if int64(e>>2) >= i {
				x.stop(x.fail(at, x.kind+" slot", fmt.Errorf("%w: sibling of slot %d at slot %d", ErrCorrupt, e>>2, i)))
			}
			continue
		}
		// A multi-index entry's siblings follow it, naming its slot.
		sibling := uint64(i)<<2 | 2
		if x.radix {
			sibling = (slots + uint64(i*x.l.ptr)) | 1
		}
		n := int64(1)
		for i+n < x.l.chunk && x.word(b, x.l.slotsOff+(i+n)*x.l.ptr, x.l.ptr) == sibling {
			n++
		}
		last := first + uint64(n)<<uint(shift) - 1
		if x.misses(first, last) {
			continue
		}
		x.entry(e, first, last, at)
	}
}
