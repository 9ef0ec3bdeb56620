package kmem

import (
	"debug/dwarf"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/walk"
)

// Node is one memory node (struct pglist_data) as crash's kmem -n shows
// it.
type Node struct {
	ID    int       `json:"id"`
	Pgdat arch.Word `json:"pglist_data"`
	// SpannedPages is the node's size; MemMap the struct page of its
	// first page, StartPFN that page's frame number.
	SpannedPages uint64     `json:"spanned_pages"`
	PresentPages uint64     `json:"present_pages"`
	MemMap       arch.Word  `json:"mem_map"`
	StartPFN     uint64     `json:"start_pfn"`
	Zones        []NodeZone `json:"zones"`
}

// NodeZone is a zone as kmem -n lists it under its node.
type NodeZone struct {
	Addr         arch.Word `json:"zone"`
	Name         string    `json:"name"`
	SpannedPages uint64    `json:"spanned_pages"`
	MemMap       arch.Word `json:"mem_map"` // 0 for an empty zone
	StartPFN     uint64    `json:"start_pfn"`
}

// Nodes lists the memory nodes with their zones.
func (m *Memory) Nodes() ([]Node, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	nodes, err := m.nodes()
	if err != nil {
		return nil, err
	}
	var out []Node
	for i, nv := range nodes {
		n := Node{ID: i, Pgdat: arch.Word(nv.Addr)}
		if id, err := uintOf(nv, "node_id"); err == nil {
			n.ID = int(id)
		}
		n.StartPFN, _ = uintOf(nv, "node_start_pfn")
		n.SpannedPages, _ = uintOf(nv, "node_spanned_pages")
		n.PresentPages, _ = uintOf(nv, "node_present_pages")
		n.MemMap = arch.Word(m.pageOfPFN(n.StartPFN))
		zones, err := nodeZones(nv)
		if err != nil {
			return nil, err
		}
		for _, z := range zones {
			nz := NodeZone{Addr: arch.Word(z.Addr), Name: zoneName(z)}
			nz.SpannedPages, _ = uintOf(z, "spanned_pages")
			nz.StartPFN, _ = uintOf(z, "zone_start_pfn")
			if nz.SpannedPages > 0 {
				nz.MemMap = arch.Word(m.pageOfPFN(nz.StartPFN))
			}
			n.Zones = append(n.Zones, nz)
		}
		out = append(out, n)
	}
	return out, nil
}

// MemoryBlock is one memory block device (struct memory_block): the unit
// of memory hotplug, as kmem -n lists them.
type MemoryBlock struct {
	Addr arch.Word `json:"memory_block"`
	Name string    `json:"name"` // its device's: memory0
	// Start and End bound its physical addresses, End included; End is 0
	// when the kernel does not say.
	Start arch.Word `json:"start"`
	End   arch.Word `json:"end"`
	Node  int       `json:"node"` // -1 when the kernel keeps none
	State uint64    `json:"state"`
	// StateName is the state's name: ONLINE, OFFLINE, ... from the
	// kernel's enum memory_block_state where it has one (since 6.9 its
	// values count from 0), from the older MEM_* bits otherwise.
	StateName    string `json:"state_name"`
	StartSection uint64 `json:"start_section_nr"`
}

// memoryBlockBits names a memory block's state from the MEM_* bits of
// kernels before enum memory_block_state.
func memoryBlockBits(s uint64) string {
	switch s {
	case 1 << 0:
		return "ONLINE"
	case 1 << 1:
		return "GOING_OFFLINE"
	case 1 << 2:
		return "OFFLINE"
	case 1 << 3:
		return "GOING_ONLINE"
	case 1 << 4:
		return "CANCEL_ONLINE"
	case 1 << 5:
		return "CANCEL_OFFLINE"
	}
	return "UNKNOWN"
}

// MemoryBlocks lists the memory block devices in the order of the memory
// bus's device list: from memory_subsys.p before Linux 6.3, from the bus
// kset's "memory" subsystem after (the kernel's own layout decides).
func (m *Memory) MemoryBlocks() ([]MemoryBlock, error) {
	if m.vals == nil {
		return nil, ErrNoTypes
	}
	private, err := m.memorySubsys()
	if err != nil {
		return nil, err
	}
	pps, err := m.PagesPerSection()
	if err != nil {
		return nil, err
	}
	ps := m.ks.PageSize()
	blockSize, haveSize := m.variable("memory_block_size_probed")
	sp, err := m.vals.At("struct subsys_private", private)
	if err != nil {
		return nil, err
	}
	head, err := sp.Member("klist_devices.k_list")
	if err != nil {
		return nil, err
	}
	var out []MemoryBlock
	for dp, err := range walk.List(head, "struct device_private", "knode_bus.n_node") {
		if err != nil {
			return out, fmt.Errorf("memory blocks: %w", err)
		}
		dev, err := uintOf(dp, "device")
		if err != nil {
			return out, err
		}
		mbv, err := m.vals.ContainerOf(dev, "struct memory_block", "dev")
		if err != nil {
			return out, err
		}
		b := MemoryBlock{Addr: arch.Word(mbv.Addr), Node: -1}
		b.StartSection, _ = uintOf(mbv, "start_section_nr")
		b.State, _ = uintOf(mbv, "state")
		b.StateName = memoryBlockBits(b.State)
		if st, err := mbv.Member("state"); err == nil {
			if et, ok := ktype.Strip(st.Type).(*dwarf.EnumType); ok {
				b.StateName = "UNKNOWN"
				for _, v := range et.Val {
					if uint64(v.Val) == b.State {
						b.StateName = strings.TrimPrefix(v.Name, "MEM_")
					}
				}
			}
		}
		if nid, err := mbv.Member("nid"); err == nil {
			n, _ := nid.Int()
			b.Node = int(n)
		}
		if nm, err := mbv.Member("dev.kobj.name"); err == nil {
			b.Name, _ = nm.CString(64)
		}
		b.Start = arch.Word(b.StartSection * pps * ps)
		switch {
		case haveSize && blockSize > 0:
			b.End = b.Start + arch.Word(blockSize-1)
		default:
			if end, err := uintOf(mbv, "end_section_nr"); err == nil {
				b.End = arch.Word((end+1)*pps*ps - 1)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// memorySubsys is the memory bus's struct subsys_private.
func (m *Memory) memorySubsys() (uint64, error) {
	if ms, err := m.vals.Var("memory_subsys"); err == nil {
		if p, err := ms.Member("p"); err == nil { // before 6.3
			return p.Uint()
		}
	}
	kset, err := m.vals.Var("bus_kset")
	if err != nil {
		return 0, fmt.Errorf("memory blocks: neither memory_subsys.p nor bus_kset: %w", err)
	}
	ks, err := kset.Deref()
	if err != nil {
		return 0, err
	}
	list, err := ks.Member("list")
	if err != nil {
		return 0, err
	}
	for kobj, err := range walk.List(list, "struct kobject", "entry") {
		if err != nil {
			return 0, fmt.Errorf("memory blocks: bus_kset: %w", err)
		}
		nm, err := kobj.Member("name")
		if err != nil {
			return 0, err
		}
		if name, _ := nm.CString(32); name == "memory" {
			sp, err := m.vals.ContainerOf(kobj.Addr, "struct subsys_private", "subsys.kobj")
			if err != nil {
				return 0, err
			}
			return sp.Addr, nil
		}
	}
	return 0, fmt.Errorf("memory blocks: no \"memory\" subsystem on bus_kset")
}
