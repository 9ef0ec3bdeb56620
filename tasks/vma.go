package tasks

import (
	"encoding/binary"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
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

// VMAs returns the mappings of the address space mm in address order:
// from the maple tree (mm->mm_mt, 6.1 and later) or the mmap list. A walk
// that cannot go on returns the mappings found before, with the error.
func VMAs(c *value.Context, mm uint64) ([]VMA, error) {
	if mm == 0 {
		return nil, ErrNoMM
	}
	var addrs []uint64
	var walkErr error // what ended the walk early; the VMAs before it are kept
	if _, _, err := offsetOf(c.Types, "struct mm_struct", "mm_mt"); err == nil {
		m, err := c.At("struct mm_struct", mm)
		if err != nil {
			return nil, err
		}
		mt, err := m.Member("mm_mt")
		if err != nil {
			return nil, err
		}
		for e, err := range walk.MapleTree(mt, walk.Max(maxVMAs)) {
			if err != nil {
				walkErr = err
				break
			}
			addrs = append(addrs, e.Raw)
		}
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
				walkErr = err
				break
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
		var m VMA
		m.Addr = a
		for _, f := range []struct {
			dst  *uint64
			name string
		}{{&m.Start, "vm_start"}, {&m.End, "vm_end"}, {&m.Flags, "vm_flags"}, {&m.File, "vm_file"}} {
			if *f.dst, err = readMember(v, f.name); err != nil {
				return out, err
			}
		}
		out = append(out, m)
	}
	return out, walkErr
}

func byteOrder(c *value.Context) binary.ByteOrder {
	if c.ByteOrder != nil {
		return c.ByteOrder
	}
	return binary.LittleEndian
}
