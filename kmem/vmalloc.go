package kmem

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// VmapArea is one busy area of vmalloc space (struct vmap_area) that
// holds a vm_struct: what vmalloc, vmap, ioremap and module loading
// allocate. Areas of vm_map_ram, which have none, are left out, as crash's
// kmem -v leaves them.
type VmapArea struct {
	Addr     arch.Word `json:"vmap_area"` // the struct vmap_area
	VMStruct arch.Word `json:"vm_struct"` // its struct vm_struct
	// Start and End bound the area's addresses: [Start, End), a guard
	// page included.
	Start arch.Word `json:"start"`
	End   arch.Word `json:"end"`
}

// Size is the area's size in bytes.
func (a VmapArea) Size() uint64 { return uint64(a.End - a.Start) }

// VmapAreas lists the busy vmalloc areas by address: from vmap_area_list
// before Linux 6.9, from each vmap_node's busy list after (the kernel's
// own layout decides: the variable that exists).
func (m *Memory) VmapAreas() ([]VmapArea, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	var heads []value.Value
	if head, err := m.vals.Var("vmap_area_list"); err == nil {
		heads = append(heads, head)
	} else {
		nodes, err := m.vals.Var("vmap_nodes")
		if err != nil {
			return nil, fmt.Errorf("vmalloc areas: neither vmap_area_list nor vmap_nodes: %w", err)
		}
		n, ok := m.variable("nr_vmap_nodes")
		if !ok || n == 0 || n > 1<<12 {
			return nil, fmt.Errorf("vmalloc areas: nr_vmap_nodes is %d", n)
		}
		for i := range n {
			node, err := nodes.Index(int(i))
			if err != nil {
				return nil, fmt.Errorf("vmalloc areas: vmap_nodes[%d]: %w", i, err)
			}
			head, err := node.Member("busy.head")
			if err != nil {
				return nil, fmt.Errorf("vmalloc areas: vmap_nodes[%d].busy.head: %w", i, err)
			}
			heads = append(heads, head)
		}
	}
	var out []VmapArea
	for _, head := range heads {
		for va, err := range walk.List(head, "struct vmap_area", "list") {
			if err != nil {
				return out, fmt.Errorf("vmalloc areas: %w", err)
			}
			vm, err := uintOf(va, "vm")
			if err != nil {
				return out, fmt.Errorf("vmalloc areas: vmap_area %#x: %w", va.Addr, err)
			}
			if vm == 0 {
				continue
			}
			start, err1 := uintOf(va, "va_start")
			end, err2 := uintOf(va, "va_end")
			if err := cmp.Or(err1, err2); err != nil {
				return out, fmt.Errorf("vmalloc areas: vmap_area %#x: %w", va.Addr, err)
			}
			out = append(out, VmapArea{Addr: arch.Word(va.Addr), VMStruct: arch.Word(vm), Start: arch.Word(start), End: arch.Word(end)})
		}
	}
	slices.SortStableFunc(out, func(a, b VmapArea) int { return cmp.Compare(a.Start, b.Start) })
	return out, nil
}
