package kmem

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Memory is one kernel's memory: its address space and, when the kernel's
// types are known, the variables and structures vtop reads.
type Memory struct {
	ks   arch.KernelSpace
	vals *value.Context   // nil without the kernel's types
	info *vmcoreinfo.Info // nil unless UseVMCOREINFO

	maxPFN         uint64
	pageStructSize uint64 // sizeof(struct page)
	flagNames      []flagName
}

type flagName struct {
	mask uint64
	name string
}

// New returns the memory of the kernel whose address space is ks; vals
// reads its types and variables, and may be nil (no vmlinux).
func New(ks arch.KernelSpace, vals *value.Context) *Memory {
	m := &Memory{ks: ks, vals: vals}
	if vals == nil {
		return m
	}
	m.maxPFN, _ = m.variable("max_pfn")
	if n, err := ktype.Sizeof(vals.Types, "struct page"); err == nil && n > 0 {
		m.pageStructSize = uint64(n)
	}
	m.flagNames = pageFlagNames(vals)
	return m
}

// Space is the architecture's address space the translations walk.
func (m *Memory) Space() arch.KernelSpace { return m.ks }

// variable reads an unsigned kernel variable; false without the types or
// when it cannot be read.
func (m *Memory) variable(name string) (uint64, bool) {
	if m.vals == nil {
		return 0, false
	}
	v, err := m.vals.Var(name)
	if err != nil {
		return 0, false
	}
	u, err := v.Uint()
	return u, err == nil
}

// pageFlagNames reads the kernel's pageflag_names table (mm/debug.c): the
// names of struct page's flag bits. It ends at a NULL name.
func pageFlagNames(vals *value.Context) []flagName {
	arr, err := vals.Var("pageflag_names")
	if err != nil {
		return nil
	}
	elems, err := arr.Elements()
	if err != nil {
		return nil
	}
	var out []flagName
	for _, e := range elems {
		mv, err1 := e.Member("mask")
		nv, err2 := e.Member("name")
		if err1 != nil || err2 != nil {
			return nil
		}
		mask, _ := mv.Uint()
		if np, _ := nv.Uint(); np == 0 {
			break
		}
		name, err := nv.CString(64)
		if err != nil {
			return nil
		}
		out = append(out, flagName{mask, name})
	}
	return out
}

// Translation is the translation of one virtual address, as crash's vtop
// shows it.
type Translation struct {
	// Address is the virtual address; User reports a walk of a task's
	// own page tables.
	Address arch.Word `json:"address"`
	User    bool      `json:"user"`
	// NotKernel reports a kernel translation asked of an address that is
	// no kernel virtual address: nothing else is set.
	NotKernel bool `json:"not_kernel,omitempty"`
	// TopTable is the top page table walked: the kernel's (crash's PGD
	// DIRECTORY) or the task's mm->pgd.
	TopTable arch.Word `json:"top_table"`
	// Walk holds the entries read, the physical address and page size.
	Walk arch.Translation `json:"-"`
	// Leaf is the entry that maps the page, when the walk reached one.
	Leaf *Leaf `json:"leaf,omitempty"`
	// ZeroPage reports that a user page is the kernel's zero page (or the
	// huge zero page).
	ZeroPage bool `json:"zero_page,omitempty"`
	// Task and Mapping, for a user address: the task whose address space
	// was walked, and the mapping that holds the address (nil when none
	// does: the address is not accessible, and nothing was walked).
	Task    arch.Word      `json:"task,omitempty"`
	Mapping *tasks.Mapping `json:"mapping,omitempty"`
	// File and FileOffset: for a page of a file mapping that is not
	// present, the file it would be read from and the offset in it.
	File       string    `json:"file,omitempty"`
	FileOffset arch.Word `json:"file_offset,omitempty"`
	// Page is the struct page of the physical page, when mapped and the
	// kernel's types are known.
	Page *Page `json:"page,omitempty"`
}

// Leaf is the page-table entry that maps a page.
type Leaf struct {
	Entry arch.Word `json:"entry"`
	// Phys is the physical address of the page it maps.
	Phys arch.Word `json:"phys"`
	// Flags are its flags as the architecture names them.
	Flags []string `json:"flags"`
}

// Page is a struct page: the kernel's record of one physical page.
type Page struct {
	Addr    arch.Word `json:"page"` // the struct page
	Phys    arch.Word `json:"phys"` // the page's physical address
	Mapping arch.Word `json:"mapping"`
	Index   arch.Word `json:"index"`
	Count   int32     `json:"count"` // _refcount
	Flags   arch.Word `json:"flags"`
	// FlagNames are the set flags' names as the kernel's pageflag_names
	// gives them, in its order.
	FlagNames []string `json:"flag_names"`
}

// VtopKernel translates a kernel virtual address, by the kernel's page
// tables or its linear maps as crash does. A page table the dump lacks
// ends the walk: Walk.Err says why, after the entries read before it.
func (m *Memory) VtopKernel(vaddr uint64) *Translation {
	t := &Translation{Address: arch.Word(vaddr)}
	if !m.ks.KernelAddr(vaddr) {
		t.NotKernel = true
		return t
	}
	t.TopTable = arch.Word(m.ks.TopTable())
	t.Walk = m.ks.VtopKernel(vaddr, m.variable)
	if len(t.Walk.Steps) > 0 && t.Walk.Size != 0 { // the walk reached a page
		t.Leaf = m.leaf(t.Walk.Steps[len(t.Walk.Steps)-1].Entry)
	}
	if t.Walk.Mapped {
		t.Page, _ = m.Page(t.Walk.Phys)
	}
	return t
}

func (m *Memory) leaf(entry uint64) *Leaf {
	return &Leaf{Entry: arch.Word(entry), Phys: arch.Word(m.ks.EntryPhys(entry)), Flags: m.ks.EntryFlags(entry)}
}

// ErrNeedTypes is returned for what needs the kernel's types (a vmlinux)
// from a Memory made without them.
var ErrNeedTypes = errors.New("needs the kernel's types (the vmlinux)")

// VtopUser translates user address vaddr in the address space of task t,
// as crash does: the mapping that holds it first (none: the address is
// not accessible, and Mapping is nil), then the walk of the task's own
// page tables. A swap or migration entry is in Walk.NotPresent.
func (m *Memory) VtopUser(t *tasks.Task, vaddr uint64) (*Translation, error) {
	if m.vals == nil {
		return nil, fmt.Errorf("the translation of user address %#x %w: the task's mm and mappings", vaddr, ErrNeedTypes)
	}
	tr := &Translation{Address: arch.Word(vaddr), User: true, Task: arch.Word(t.Addr)}
	if t.MM == 0 {
		return tr, nil
	}
	vmas, err := tasks.VMAs(m.vals, t.MM)
	if err != nil {
		return nil, err
	}
	var vma *tasks.VMA
	for i := range vmas {
		if vaddr >= vmas[i].Start && vaddr < vmas[i].End {
			vma = &vmas[i]
			break
		}
	}
	if vma == nil {
		return tr, nil
	}
	path := tasks.FilePath(m.vals, vma.File)
	tr.Mapping = &tasks.Mapping{VMA: arch.Word(vma.Addr), Start: arch.Word(vma.Start), End: arch.Word(vma.End),
		Flags: arch.Word(vma.Flags), File: arch.Word(vma.File), Path: path}
	mmv, err := m.vals.At("struct mm_struct", t.MM)
	if err != nil {
		return nil, err
	}
	pgdv, err := mmv.Member("pgd")
	if err != nil {
		return nil, err
	}
	pgd, err := pgdv.Uint()
	if err != nil {
		return nil, err
	}
	if pgd == 0 {
		return nil, fmt.Errorf("mm_struct %#x has no page directory", t.MM)
	}
	tr.TopTable = arch.Word(pgd)
	if tr.Walk, err = m.ks.VtopUser(pgd, vaddr); err != nil {
		return nil, err
	}
	if tr.Walk.Mapped {
		tr.Leaf = m.leaf(tr.Walk.Steps[len(tr.Walk.Steps)-1].Entry)
		base := uint64(tr.Leaf.Phys)
		tr.ZeroPage = base == m.zeroPage() || base == m.hugeZeroPage()
		tr.Page, _ = m.Page(tr.Walk.Phys)
	} else if path != "" && tr.Walk.NotPresent == 0 {
		// crash's vma_file_offset: where the page would come from.
		if off, ok := m.fileOffset(vma, vaddr); ok {
			tr.File, tr.FileOffset = path, arch.Word(off)
		}
	}
	return tr, nil
}

// fileOffset is the offset in its file of the page of a file mapping
// holding vaddr.
func (m *Memory) fileOffset(vma *tasks.VMA, vaddr uint64) (uint64, bool) {
	mv, err := m.vals.At("struct vm_area_struct", vma.Addr)
	if err != nil {
		return 0, false
	}
	pg, err := mv.Member("vm_pgoff")
	if err != nil {
		return 0, false
	}
	pgoff, err := pg.Uint()
	if err != nil {
		return 0, false
	}
	ps := m.ks.PageSize()
	return ((vaddr-vma.Start)/ps + pgoff) * ps, true
}

// zeroPage is the physical address of empty_zero_page, or 1 (no page's
// address) when it is not known.
func (m *Memory) zeroPage() uint64 {
	v, err := m.vals.Var("empty_zero_page")
	if err != nil {
		return 1
	}
	p, _, err := m.ks.Translate(v.Addr)
	if err != nil {
		return 1
	}
	return p
}

// hugeZeroPage is the physical address of the huge zero page
// (huge_zero_page, or huge_zero_folio since 6.10), or 1 when there is none.
func (m *Memory) hugeZeroPage() uint64 {
	for _, name := range []string{"huge_zero_page", "huge_zero_folio"} {
		v, err := m.vals.Var(name)
		if err != nil {
			continue
		}
		page, err := v.Uint()
		if err != nil || page == 0 {
			return 1
		}
		if p, ok := m.ks.PageStructPhys(page, m.pageStructSize, m.variable); ok {
			return p
		}
		return 1
	}
	return 1
}

// Page reads the struct page of the physical page holding paddr. It
// needs the kernel's types; false without them, for a page beyond
// max_pfn, or when the struct page cannot be read.
func (m *Memory) Page(paddr uint64) (*Page, bool) {
	if m.vals == nil {
		return nil, false
	}
	pfn := paddr / m.ks.PageSize()
	if m.maxPFN != 0 && pfn >= m.maxPFN {
		return nil, false
	}
	addr, ok := m.ks.PageStruct(paddr, m.pageStructSize, m.variable)
	if !ok {
		return nil, false
	}
	pv, err := m.vals.At("struct page", addr)
	if err != nil {
		return nil, false
	}
	field := func(path string) (uint64, bool) {
		f, err := pv.Member(path)
		if err != nil {
			return 0, false
		}
		u, err := f.Uint()
		return u, err == nil
	}
	flags, ok1 := field("flags")
	if !ok1 {
		flags, ok1 = field("flags.f") // 7.x: memdesc_flags_t
	}
	mapping, ok2 := field("mapping")
	index, ok3 := field("index")
	if !ok3 {
		index, ok3 = field("__folio_index") // 7.x's name
	}
	count, ok4 := field("_refcount.counter")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, false
	}
	p := &Page{Addr: arch.Word(addr), Phys: arch.Word(pfn * m.ks.PageSize()), Mapping: arch.Word(mapping),
		Index: arch.Word(index), Count: int32(count), Flags: arch.Word(flags)}
	for _, f := range m.flagNames {
		if flags&f.mask != 0 {
			p.FlagNames = append(p.FlagNames, f.name)
		}
	}
	return p, true
}

// MarshalJSON writes the walk's entries with their addresses and values
// as hexadecimal strings, as the other views' addresses are, and the
// reason a kernel walk stopped as "walk_error".
func (t *Translation) MarshalJSON() ([]byte, error) {
	type step struct {
		Level     string    `json:"level"`
		EntryAddr arch.Word `json:"entry_addr"`
		Entry     arch.Word `json:"entry"`
	}
	type plain Translation
	out := struct {
		*plain
		Steps      []step    `json:"steps"`
		Phys       arch.Word `json:"phys"`
		PageSize   arch.Word `json:"page_size,omitempty"`
		Mapped     bool      `json:"mapped"`
		Linear     bool      `json:"linear,omitempty"`
		NotPresent arch.Word `json:"not_present,omitempty"`
		WalkError  string    `json:"walk_error,omitempty"`
	}{plain: (*plain)(t), Phys: arch.Word(t.Walk.Phys), PageSize: arch.Word(t.Walk.Size), Mapped: t.Walk.Mapped,
		Linear: t.Walk.Linear, NotPresent: arch.Word(t.Walk.NotPresent)}
	out.Steps = make([]step, 0, len(t.Walk.Steps))
	for _, s := range t.Walk.Steps {
		out.Steps = append(out.Steps, step{s.Level, arch.Word(s.EntryAddr), arch.Word(s.Entry)})
	}
	if t.Walk.Err != nil {
		out.WalkError = t.Walk.Err.Error()
	}
	return json.Marshal(out)
}
