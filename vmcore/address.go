package vmcore

import (
	"encoding/json"
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/tasks"
)

// AddressInfo is what an address is, as crash's kmem ADDRESS tells it:
// the symbol, vmalloc area, slab object, free page block, task and struct
// page holding it. A part is nil when the address is not of that kind; a
// part that could not be examined is named in Errors.
type AddressInfo struct {
	// Addr is the address asked about. An address outside the kernel's
	// address space is taken as physical (Physical), as crash does.
	Addr     arch.Word `json:"address"`
	Physical bool      `json:"physical"`
	// Virt is the kernel virtual address examined: Addr itself, or the
	// direct-map address of a physical one (absent when that has none).
	Virt *arch.Word `json:"virt,omitempty"`
	// Phys is the physical address (absent when Addr is unmapped).
	Phys *arch.Word `json:"phys,omitempty"`
	// Symbol is the kernel or module symbol holding the address, for an
	// address of the kernel image or of a module.
	Symbol *AddressSymbol `json:"symbol,omitempty"`
	// VmapArea is the vmalloc area holding it; Stack the task whose
	// kernel stack that area or the address is.
	VmapArea *kmem.VmapArea `json:"vmap_area,omitempty"`
	Stack    *tasks.Task    `json:"-"`
	// Slab is the SLUB cache, slab and object holding it.
	Slab *kmem.SlabObject `json:"slab,omitempty"`
	// FreeBlock is the buddy allocator's free block holding its page.
	FreeBlock *kmem.FreeBlock `json:"free_block,omitempty"`
	// Task is the task whose task_struct holds it.
	Task *tasks.Task `json:"-"`
	// Page is the struct page of its page frame.
	Page *kmem.PageInfo `json:"page,omitempty"`
	// Errors names the parts that could not be examined, and why.
	Errors []string `json:"errors,omitempty"`
}

// AddressSymbol is a symbol holding an address, and the offset into it.
type AddressSymbol struct {
	Name   string    `json:"name"`
	Addr   arch.Word `json:"addr"`
	Offset uint64    `json:"offset"`
	Module string    `json:"module,omitempty"`
}

// MarshalJSON writes the record with Task and Stack as task references
// (task_struct address, pid, command, CPU).
func (a *AddressInfo) MarshalJSON() ([]byte, error) {
	type plain AddressInfo
	return json.Marshal(struct {
		*plain
		Stack *taskRef `json:"stack_of,omitempty"`
		Task  *taskRef `json:"task,omitempty"`
	}{(*plain)(a), refOf(a.Stack), refOf(a.Task)})
}

// taskRef is a task as an AddressInfo's JSON names it.
type taskRef struct {
	Addr arch.Word `json:"task"`
	PID  int       `json:"pid"`
	Comm string    `json:"comm"`
	CPU  int       `json:"cpu"`
}

func refOf(t *tasks.Task) *taskRef {
	if t == nil {
		return nil
	}
	return &taskRef{arch.Word(t.Addr), t.PID, t.Comm, t.CPU}
}

// Identify tells what addr is, as crash's kmem ADDRESS does: a kernel
// virtual address, or, outside the kernel's address space, a physical
// one. Every kind is looked for (an address can be a slab object, in a
// task_struct and on a page at once); only an unusable address is an
// error.
func (k *Kernel) Identify(addr uint64) (*AddressInfo, error) {
	if k.Virt == nil {
		return nil, fmt.Errorf("vmcore: identify %#x: no kernel address space", addr)
	}
	mem := k.Memory()
	ks := k.Virt
	info := &AddressInfo{Addr: arch.Word(addr)}
	fail := func(part string, err error) {
		info.Errors = append(info.Errors, fmt.Sprintf("%s: %v", part, err))
	}
	vaddr, haveVirt := addr, true
	phys, physOK := addr, true
	if !ks.KernelAddr(addr) {
		info.Physical = true
		vaddr, haveVirt = ks.PhysToDirect(addr)
	} else {
		p, _, err := ks.Translate(addr)
		phys, physOK = p, err == nil
	}
	if haveVirt {
		w := arch.Word(vaddr)
		info.Virt = &w
		info.Symbol = k.symbolOf(vaddr)
	}
	if physOK {
		w := arch.Word(phys)
		info.Phys = &w
	}
	tr, err := k.Tracer()
	if err != nil {
		fail("tasks", err)
	}
	taskSize := uint64(0)
	if k.Values != nil {
		if t, err := k.Values.Types.Type("struct task_struct"); err == nil && t.Size() > 0 {
			taskSize = uint64(t.Size())
		}
	}
	if tr != nil && haveVirt {
		for _, t := range tr.Table.Tasks {
			if info.Task == nil && vaddr >= t.Addr && vaddr < t.Addr+taskSize {
				info.Task = t
			}
			if info.Stack == nil && t.Stack != 0 && vaddr >= t.Stack && vaddr < t.Stack+tr.CPU.StackSize() {
				info.Stack = t
			}
		}
	}
	if !info.Physical && physOK {
		areas, err := mem.VmapAreas()
		if err != nil {
			fail("vmalloc areas", err)
		}
		for i := range areas {
			if a := &areas[i]; addr >= uint64(a.Start) && addr < uint64(a.End) {
				info.VmapArea = a
				break
			}
		}
	}
	if haveVirt && info.VmapArea == nil {
		if o, ok, err := mem.SlabObject(vaddr); err != nil {
			fail("slab", err)
		} else if ok {
			info.Slab = o
		}
	}
	// A struct page's address names its page for the free-page search,
	// as crash's does.
	searchPhys, searchOK := phys, physOK
	var page *kmem.PageInfo
	if !info.Physical {
		if p, err := mem.PageOf(addr, false); err == nil && uint64(p.Addr) == addr {
			searchPhys, searchOK = uint64(p.Phys), true
		}
	}
	if searchOK {
		if fb, ok, err := mem.FreeBlockOf(searchPhys); err != nil {
			fail("free pages", err)
		} else if ok {
			info.FreeBlock = fb
		}
	}
	// The struct page: of the area's page for a vmalloc address; else
	// the page the address names (a struct page's address names itself).
	if info.VmapArea != nil && physOK {
		page, _ = pageOf(mem, phys, true)
	} else if info.VmapArea == nil && haveVirt {
		page, _ = pageOf(mem, addr, info.Physical)
	}
	info.Page = page
	return info, nil
}

// symbolOf is the symbol holding a kernel virtual address of the kernel
// image (_stext to _end) or of a loaded module; nil for any other.
func (k *Kernel) symbolOf(addr uint64) *AddressSymbol {
	{
		lo, ok1 := k.Lookup("_stext")
		hi, ok2 := k.Lookup("_end")
		if ok1 && ok2 && addr >= lo.Addr && addr <= hi.Addr {
			if s, off, ok := k.SymbolAt(addr); ok {
				return &AddressSymbol{Name: s.Name, Addr: arch.Word(s.Addr), Offset: off}
			}
			return nil
		}
	}
	mods, err := k.Modules()
	if err != nil {
		return nil
	}
	for _, m := range mods {
		in := false
		for _, r := range m.Regions {
			in = in || addr >= r.Base && addr < r.Base+r.Size
		}
		if !in {
			continue
		}
		syms, err := module.Symbols(k.Values, m)
		if err != nil {
			return nil
		}
		var best *AddressSymbol
		for _, s := range syms {
			if s.Addr <= addr && (best == nil || s.Addr > uint64(best.Addr)) {
				best = &AddressSymbol{Name: s.Name, Addr: arch.Word(s.Addr), Offset: addr - s.Addr, Module: m.Name}
			}
		}
		return best
	}
	return nil
}

func pageOf(mem *kmem.Memory, addr uint64, phys bool) (*kmem.PageInfo, error) {
	p, err := mem.PageOf(addr, phys)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
