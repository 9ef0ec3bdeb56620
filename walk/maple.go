package walk

import (
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// The maple tree's encoded node pointers (include/linux/maple_tree.h): a
// node is 256-byte aligned; bits 3-6 of a pointer to it give its type; the
// root pointer also has the xarray's internal-node bits (xa_is_node).
const (
	mapleNodeMask  = 0xff
	mapleTypeShift = 3
	mapleTypeMask  = 0xf
	// maxMapleHeight is above MAPLE_HEIGHT_MAX (31).
	maxMapleHeight = 32
)

// mapleKind is what a node of each maple_type holds.
type mapleKind struct {
	name                      string
	pivotOff, slotOff         int64 // from the node's start
	pivots, slots             int64
	metaEnd                   int64 // offset of meta.end, -1 without one
	leaf, dense, isArange, ok bool
}

type mapleLayout struct {
	nodeSize int64
	ptr      int64
	kinds    [mapleTypeMask + 1]mapleKind
}

func (w *walker) mapleLayout() (*mapleLayout, error) {
	nt, err := w.sourceType("struct maple_node")
	if err != nil {
		return nil, err
	}
	et, err := w.sourceType("enum maple_type")
	if err != nil {
		return nil, err
	}
	l := &mapleLayout{nodeSize: nt.Size()}
	arr := func(path string) (off, n int64, err error) {
		m, err := w.member(nt, path)
		if err != nil {
			return 0, 0, err
		}
		e, err := w.member(nt, path+"[0]")
		if err != nil {
			return 0, 0, err
		}
		if es := e.Type.Size(); es > 0 {
			n = m.Type.Size() / es
		}
		if n <= 0 || m.Offset+m.Type.Size() > l.nodeSize {
			return 0, 0, w.layout(fmt.Errorf("struct maple_node.%s has no usable size", path))
		}
		return m.Offset, n, nil
	}
	metaEnd := func(path string) int64 {
		if m, err := ktype.FindMember(nt, path); err == nil && m.Type.Size() == 1 {
			return m.Offset
		}
		return -1
	}
	for _, k := range []struct {
		enum, prefix string
		leaf         bool
	}{
		{"maple_leaf_64", "mr64", true},
		{"maple_range_64", "mr64", false},
		{"maple_arange_64", "ma64", false},
	} {
		typ, ok := ktype.EnumValue(et, k.enum)
		if !ok || typ < 0 || typ > mapleTypeMask {
			return nil, w.layout(fmt.Errorf("enum maple_type has no %s", k.enum))
		}
		var mk mapleKind
		mk.name, mk.leaf, mk.ok = k.enum, k.leaf, true
		if mk.pivotOff, mk.pivots, err = arr(k.prefix + ".pivot"); err != nil {
			return nil, err
		}
		if mk.slotOff, mk.slots, err = arr(k.prefix + ".slot"); err != nil {
			return nil, err
		}
		if mk.slots != mk.pivots+1 {
			return nil, w.layout(fmt.Errorf("struct maple_node.%s has %d slots and %d pivots", k.prefix, mk.slots, mk.pivots))
		}
		mk.metaEnd = metaEnd(k.prefix + ".meta.end")
		mk.isArange = k.prefix == "ma64"
		l.kinds[typ] = mk
	}
	if typ, ok := ktype.EnumValue(et, "maple_dense"); ok && typ >= 0 && typ <= mapleTypeMask {
		mk := mapleKind{name: "maple_dense", leaf: true, dense: true, ok: true, metaEnd: -1}
		if mk.slotOff, mk.slots, err = arr("slot"); err != nil {
			return nil, err
		}
		l.kinds[typ] = mk
	}
	m, err := w.member(nt, "slot[0]")
	if err != nil {
		return nil, err
	}
	l.ptr = m.Type.Size()
	if l.ptr != 8 && l.ptr != 4 {
		return nil, w.layout(fmt.Errorf("struct maple_node.slot holds %d-byte words", l.ptr))
	}
	return l, nil
}

// MapleTree walks a maple tree (struct maple_tree, or a pointer to one,
// such as an mm_struct's mm_mt) in index order, yielding each entry with
// the range of indices it covers: mt_for_each. For a process's mm_mt the
// entries are its struct vm_area_struct, Index..Last their
// vm_start..vm_end-1. Reserved (zero) entries are skipped.
//
// Dense, leaf, range and allocation-range nodes are read with the
// kernel's own layout (struct maple_node and enum maple_type from the type
// source). A node of an unknown type, pivots that go backwards or past
// their node's range, a tree deeper than MAPLE_HEIGHT_MAX, an unreadable
// node or more than Max entries or nodes end the walk with an *Error.
func MapleTree(mt value.Value, opts ...Option) iter.Seq2[Entry, error] {
	return mapleWalk(mt, nil, opts)
}

// MapleLoad returns the entry of a maple tree whose range holds index:
// mtree_load (for a process's mm_mt, find_vma's exact match: the
// vm_area_struct mapping that address). ok is false in a gap. It reads
// only the nodes on the way to index.
func MapleLoad(mt value.Value, index uint64, opts ...Option) (e Entry, ok bool, err error) {
	return firstOf(mapleWalk(mt, &index, opts))
}

// MapleFrom walks a maple tree from an encoded node pointer (a ma_root or
// a slot of an inner node: the node's address with its maple_type in bits
// 3-6) rather than from the struct maple_tree (crash's tree -t maple -N).
// The node is taken to cover every index, as a root does.
func MapleFrom(c *value.Context, node uint64, opts ...Option) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		w := newWalker(c, "maple_tree", node, opts)
		l, err := w.mapleLayout()
		if err != nil {
			yield(Entry{}, err)
			return
		}
		m := &mapleWalker{xaWalker: xaWalker{walker: w, yield: yield}, l: l}
		m.node(node, 0, ^uint64(0), 0, node)
	}
}

func mapleWalk(mt value.Value, target *uint64, opts []Option) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		v, err := object(mt, "maple_tree")
		if err != nil {
			yield(Entry{}, err)
			return
		}
		w := newWalker(v.Context(), "maple_tree", v.Addr, opts)
		if err := w.isStruct(v.Type, "maple_tree", "tree"); err != nil {
			yield(Entry{}, err)
			return
		}
		rootOff, size, err := w.pointerMember(v.Type, "ma_root")
		if err != nil {
			yield(Entry{}, err)
			return
		}
		l, err := w.mapleLayout()
		if err != nil {
			yield(Entry{}, err)
			return
		}
		root, err := w.readWord(v.Addr+uint64(rootOff), size, "maple_tree.ma_root")
		if err != nil {
			yield(Entry{}, err)
			return
		}
		m := &mapleWalker{xaWalker: xaWalker{walker: w, yield: yield, target: target}, l: l}
		if xaIsNode(root) {
			m.node(root, 0, ^uint64(0), 0, v.Addr)
			return
		}
		// A tree of one entry at index 0 keeps it in ma_root.
		if !m.misses(0, 0) {
			m.leafEntry(root, 0, 0, v.Addr)
		}
	}
}

type mapleWalker struct {
	xaWalker
	l *mapleLayout
}

// leafEntry yields a leaf's entry; reserved entries (internal, below
// 4096) are skipped as mas_find skips them.
func (m *mapleWalker) leafEntry(e, first, last, at uint64) {
	if e == 0 || (xaIsInternal(e) && e < 4096) {
		return
	}
	m.entry(e, first, last, at)
}

// node walks the encoded node enc covering min..max at the given depth.
func (m *mapleWalker) node(enc, min, max uint64, depth int, from uint64) {
	addr := enc &^ mapleNodeMask
	typ := (enc >> mapleTypeShift) & mapleTypeMask
	if depth > maxMapleHeight {
		m.stop(m.fail(addr, "maple_node", fmt.Errorf("%w: deeper than %d levels", ErrCorrupt, maxMapleHeight)))
		return
	}
	k := m.l.kinds[typ]
	if !k.ok {
		m.stop(m.fail(addr, "maple_node", fmt.Errorf("%w: encoded node %#x has unknown type %d", ErrCorrupt, enc, typ)))
		return
	}
	if addr == 0 {
		m.stop(m.fail(from, "maple_node", fmt.Errorf("%w: encoded node %#x is NULL", ErrCorrupt, enc)))
		return
	}
	if err := m.visit(addr, fmt.Sprintf("%s (from %#x)", k.name, from)); err != nil {
		m.stop(err)
		return
	}
	b := make([]byte, m.l.nodeSize)
	if err := m.read(b, addr, k.name); err != nil {
		m.stop(err)
		return
	}
	m.enter()
	defer m.leave()
	ptr := m.l.ptr
	slot := func(i int64) uint64 { return m.word(b, k.slotOff+i*ptr, ptr) }
	slotAddr := func(i int64) uint64 { return addr + uint64(k.slotOff+i*ptr) }
	if k.dense {
		for i := int64(0); i < k.slots && !m.stopped; i++ {
			idx := min + uint64(i)
			if idx < min || idx > max {
				break
			}
			if !m.misses(idx, idx) {
				m.xaWalker.slot(int(i))
				m.leafEntry(slot(i), idx, idx, slotAddr(i))
			}
		}
		return
	}
	pivot := func(i int64) uint64 { return m.word(b, k.pivotOff+i*ptr, ptr) }
	end := m.dataEnd(b, k, pivot, max)
	first := min
	for i := int64(0); i <= end && !m.stopped; i++ {
		last := max
		if i < k.pivots {
			if p := pivot(i); p != 0 || i == 0 {
				last = p
			}
		}
		if last < first || last > max {
			m.stop(m.fail(addr+uint64(k.pivotOff+i*ptr), k.name+" pivot", fmt.Errorf("%w: pivot %d is %#x, outside %#x..%#x", ErrCorrupt, i, last, first, max)))
			return
		}
		e := slot(i)
		m.xaWalker.slot(int(i))
		switch {
		case m.misses(first, last):
		case k.leaf:
			m.leafEntry(e, first, last, slotAddr(i))
		case e != 0:
			m.node(e, first, last, depth+1, addr)
		}
		if last >= max {
			return
		}
		first = last + 1
	}
}

// dataEnd is ma_data_end: the last slot in use.
func (m *mapleWalker) dataEnd(b []byte, k mapleKind, pivot func(int64) uint64, max uint64) int64 {
	meta := func() int64 {
		if k.metaEnd < 0 {
			// No metadata: the first zero pivot after slot 0 ends the
			// data, as crash reads such nodes.
			for i := int64(1); i < k.pivots; i++ {
				if pivot(i) == 0 {
					return i - 1
				}
			}
			return k.pivots
		}
		return min(int64(b[k.metaEnd]), k.slots-1)
	}
	if k.isArange {
		return meta()
	}
	last := k.pivots - 1
	if pivot(last) == 0 {
		return meta()
	}
	if pivot(last) == max {
		return last
	}
	return k.pivots
}
