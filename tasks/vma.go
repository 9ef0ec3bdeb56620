package tasks

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// VMA is one memory mapping of a process (struct vm_area_struct).
type VMA struct {
	Addr       uint64 // the vm_area_struct
	Start, End uint64
	Flags      uint64
	File       uint64 // struct file *, 0 for anonymous memory
}

// maxVMAs bounds a walk of a corrupt tree or list (the kernel's default
// vm.max_map_count is 65530).
const maxVMAs = 1 << 20

// Maple tree node encoding (include/linux/maple_tree.h).
const (
	mapleNodeMask  = 0xff
	mapleTypeShift = 3
	mapleTypeMask  = 0xf
	mapleDense     = 0
	mapleLeaf64    = 1
	mapleRange64   = 2
	mapleArange64  = 3
	maxMapleDepth  = 32
)

// mapleLayout holds the offsets and slot counts of a kernel's maple nodes.
type mapleLayout struct {
	nodeSize                    int64
	r64Pivot, r64Slot, r64Slots int64
	a64Pivot, a64Slot, a64Slots int64
	denseSlot, denseSlots       int64
}

func arrayLen(s ktype.Source, typ, member string) (off, n int64, err error) {
	t, err := s.Type(typ)
	if err != nil {
		return 0, 0, err
	}
	m, err := ktype.FindMember(t, member)
	if err != nil {
		return 0, 0, err
	}
	if m.Type.Size() <= 0 {
		return 0, 0, fmt.Errorf("%s.%s has no size", typ, member)
	}
	return m.Offset, m.Type.Size() / 8, nil
}

func newMapleLayout(s ktype.Source) (*mapleLayout, error) {
	l := &mapleLayout{}
	var err error
	if l.nodeSize, err = ktype.Sizeof(s, "struct maple_node"); err != nil {
		return nil, err
	}
	var base int64
	if base, _, err = offsetOf(s, "struct maple_node", "mr64"); err != nil {
		return nil, err
	}
	if l.r64Pivot, _, err = arrayLen(s, "struct maple_range_64", "pivot"); err != nil {
		return nil, err
	}
	if l.r64Slot, l.r64Slots, err = arrayLen(s, "struct maple_range_64", "slot"); err != nil {
		return nil, err
	}
	l.r64Pivot += base
	l.r64Slot += base
	if base, _, err = offsetOf(s, "struct maple_node", "ma64"); err != nil {
		return nil, err
	}
	if l.a64Pivot, _, err = arrayLen(s, "struct maple_arange_64", "pivot"); err != nil {
		return nil, err
	}
	if l.a64Slot, l.a64Slots, err = arrayLen(s, "struct maple_arange_64", "slot"); err != nil {
		return nil, err
	}
	l.a64Pivot += base
	l.a64Slot += base
	if l.denseSlot, l.denseSlots, err = arrayLen(s, "struct maple_node", "slot"); err != nil {
		return nil, err
	}
	return l, nil
}

// mapleWalker collects the entries of a maple tree in index order, as
// crash's do_maple_tree gathers them.
type mapleWalker struct {
	c       *value.Context
	l       *mapleLayout
	entries []uint64
	nodes   int // nodes read, bounded: a corrupt tree may share nodes
}

// maxMapleNodes bounds the nodes one walk reads (a tree of maxVMAs
// entries has far fewer).
const maxMapleNodes = 1 << 18

func (m *mapleWalker) u64(b []byte, off int64) uint64 {
	if off < 0 || off+8 > int64(len(b)) {
		return 0
	}
	return byteOrder(m.c).Uint64(b[off:])
}

func (m *mapleWalker) entry(e uint64) error {
	if e == 0 {
		return nil
	}
	if len(m.entries) >= maxVMAs {
		return errors.New("maple tree: too many entries")
	}
	m.entries = append(m.entries, e)
	return nil
}

func (m *mapleWalker) node(enode, min, max uint64, depth int) error {
	if depth > maxMapleDepth {
		return errors.New("maple tree: too deep (corrupt)")
	}
	if m.nodes++; m.nodes > maxMapleNodes {
		return errors.New("maple tree: too many nodes (corrupt)")
	}
	typ := (enode >> mapleTypeShift) & mapleTypeMask
	b := make([]byte, m.l.nodeSize)
	if err := m.c.Read(b, enode&^mapleNodeMask, "maple_node"); err != nil {
		return err
	}
	l := m.l
	switch typ {
	case mapleDense:
		for i := int64(0); i < l.denseSlots; i++ {
			if err := m.entry(m.u64(b, l.denseSlot+8*i)); err != nil {
				return err
			}
		}
		return nil
	case mapleLeaf64, mapleRange64:
		return m.ranges(b, typ == mapleLeaf64, l.r64Pivot, l.r64Slot, l.r64Slots, min, max, true, depth)
	case mapleArange64:
		return m.ranges(b, false, l.a64Pivot, l.a64Slot, l.a64Slots, min, max, false, depth)
	}
	return fmt.Errorf("maple tree: node %#x of unknown type %d", enode, typ)
}

// ranges walks a range node's slots: each covers first..pivot[i], the
// last one up to the node's max.
func (m *mapleWalker) ranges(b []byte, leaf bool, pivotOff, slotOff, slots int64, min, max uint64, r64 bool, depth int) error {
	first := min
	for i := int64(0); i < slots; i++ {
		last := max
		slot := m.u64(b, slotOff+8*i)
		if i < slots-1 {
			last = m.u64(b, pivotOff+8*i)
		} else if slot == 0 && (!r64 || max != ^uint64(0)) {
			break
		}
		if last == 0 && i > 0 {
			break
		}
		if leaf {
			if err := m.entry(slot); err != nil {
				return err
			}
		} else if slot != 0 {
			if err := m.node(slot, first, last, depth+1); err != nil {
				return err
			}
		}
		if last >= max {
			break
		}
		first = last + 1
	}
	return nil
}

// VMAs returns the mappings of the address space mm in address order:
// from the maple tree (mm->mm_mt, 6.1 and later) or the mmap list.
func VMAs(c *value.Context, mm uint64) ([]VMA, error) {
	if mm == 0 {
		return nil, ErrNoMM
	}
	var addrs []uint64
	if mtOff, _, err := offsetOf(c.Types, "struct mm_struct", "mm_mt"); err == nil {
		l, err := newMapleLayout(c.Types)
		if err != nil {
			return nil, err
		}
		rootOff, _, err := offsetOf(c.Types, "struct maple_tree", "ma_root")
		if err != nil {
			return nil, err
		}
		w := &mapleWalker{c: c, l: l}
		var b [8]byte
		if err := c.Read(b[:], mm+uint64(mtOff+rootOff), "mm_struct.mm_mt.ma_root"); err != nil {
			return nil, err
		}
		root := byteOrder(c).Uint64(b[:])
		if root&3 == 2 && root > 4096 { // xa_is_node
			typ := (root >> mapleTypeShift) & mapleTypeMask
			max := ^uint64(0)
			if typ == mapleDense {
				max = uint64(l.denseSlots)
			}
			if err := w.node(root, 0, max, 0); err != nil {
				return nil, err
			}
		} else if err := w.entry(root); err != nil {
			return nil, err
		}
		addrs = w.entries
	} else {
		mmapOff, _, err := offsetOf(c.Types, "struct mm_struct", "mmap")
		if err != nil {
			return nil, err
		}
		nextOff, _, err := offsetOf(c.Types, "struct vm_area_struct", "vm_next")
		if err != nil {
			return nil, err
		}
		var b [8]byte
		seen := map[uint64]bool{}
		at := mm + uint64(mmapOff)
		for len(addrs) < maxVMAs {
			if err := c.Read(b[:], at, "vm_area_struct list"); err != nil {
				return nil, err
			}
			v := byteOrder(c).Uint64(b[:])
			if v == 0 || seen[v] {
				break
			}
			seen[v] = true
			addrs = append(addrs, v)
			at = v + uint64(nextOff)
		}
	}
	out := make([]VMA, 0, len(addrs))
	for _, a := range addrs {
		v, err := c.At("struct vm_area_struct", a)
		if err != nil {
			return out, err
		}
		get := func(name string) uint64 {
			m, err := v.Member(name)
			if err != nil {
				return 0
			}
			x, _ := m.Uint()
			return x
		}
		out = append(out, VMA{Addr: a, Start: get("vm_start"), End: get("vm_end"), Flags: get("vm_flags"), File: get("vm_file")})
	}
	return out, nil
}

func byteOrder(c *value.Context) binary.ByteOrder {
	if c.ByteOrder != nil {
		return c.ByteOrder
	}
	return binary.LittleEndian
}
