package kmem

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/tasks"
)

// space is a toy machine: kernel addresses are those with the top bit
// set, each walked in two levels ("TOP", "LEAF") to a 4 KiB page at the
// address's low 32 bits; user addresses map when listed in user. Struct
// pages sit in an array at pageBase, pageSize bytes each.
type space struct {
	arch.KernelSpace // nothing else is called
	user             map[uint64]uint64
}

const (
	pageBase   = 0xffffea0000000000
	leafFlags  = 0x63
	topTable   = 0xffffffff82000000
	userPGD    = 0xffff888000100000
	zeroPhys   = 0x5000
	pageStruct = 64
)

func (space) KernelAddr(v uint64) bool { return v>>63 == 1 }
func (space) UserAddr(v uint64) bool   { return v < 1<<47 }
func (space) TopTable() uint64         { return topTable }
func (space) PageSize() uint64         { return 4096 }
func (space) EntryPhys(e uint64) uint64 {
	return e &^ 0xfff
}
func (space) EntryFlags(e uint64) []string {
	if e&1 != 0 {
		return []string{"PRESENT"}
	}
	return nil
}

func (space) VtopKernel(v uint64, _ func(string) (uint64, bool)) arch.Translation {
	pa := v & 0xffffffff
	if pa&^0xfff == 0xdead000 {
		return arch.Translation{Steps: []arch.Step{{Level: "TOP", EntryAddr: 0x1000, Entry: 0x2063}}, Err: errors.New("table 0x2000 not in the dump")}
	}
	return arch.Translation{Steps: []arch.Step{{Level: "TOP", EntryAddr: 0x1000, Entry: 0x2063}, {Level: "LEAF", EntryAddr: 0x2008, Entry: pa&^0xfff | leafFlags}},
		Phys: pa, Size: 4096, Mapped: true}
}

func (s space) VtopUser(root, v uint64) (arch.Translation, error) {
	if root != userPGD {
		return arch.Translation{}, errors.New("wrong root")
	}
	pa, ok := s.user[v&^0xfff]
	if !ok {
		return arch.Translation{Steps: []arch.Step{{Level: "TOP", EntryAddr: 0x3000, Entry: 0}}}, nil
	}
	return arch.Translation{Steps: []arch.Step{{Level: "TOP", EntryAddr: 0x3000, Entry: pa | leafFlags}}, Phys: pa | v&0xfff, Size: 4096, Mapped: true}, nil
}

func (space) Translate(v uint64) (uint64, uint64, error) { return v & 0xffffffff, 4096, nil }

func (space) PageStruct(pa, size uint64, _ func(string) (uint64, bool)) (uint64, bool) {
	return pageBase + pa/4096*size, size != 0
}

func (space) PageStructPhys(page, size uint64, _ func(string) (uint64, bool)) (uint64, bool) {
	return (page - pageBase) / size * 4096, size != 0
}

// kernel is a fake kernel with struct page, pageflag_names, max_pfn, the
// zero page, and a task whose address space has one mapping
// (0x400000-0x402000) of which the first page is the zero page.
func kernel(t *testing.T) (*fk.Kernel, *tasks.Task) {
	k := fk.New(1)
	k.Add(
		fk.Struct("struct", "page",
			fk.M("flags", fk.U64), fk.M("mapping", fk.U64), fk.M("index", fk.U64),
			fk.M("_refcount", fk.Struct("struct", "atomic_t", fk.M("counter", fk.I32))), fk.M("pad", fk.U32),
			fk.M("rest", fk.Array(fk.U64, 4))),
		fk.Struct("struct", "trace_print_flags", fk.M("mask", fk.U64), fk.M("name", fk.Ptr(fk.Char))),
		fk.Struct("struct", "vm_area_struct", fk.M("vm_start", fk.U64), fk.M("vm_end", fk.U64),
			fk.M("vm_next", fk.U64), fk.M("vm_flags", fk.U64), fk.M("vm_file", fk.U64), fk.M("vm_pgoff", fk.U64)),
		fk.Struct("struct", "mm_struct", fk.M("mmap", fk.U64), fk.M("pgd", fk.U64)),
	)
	if n, _ := k.Types["struct page"].(interface{ Size() int64 }); n.Size() != pageStruct {
		t.Fatalf("struct page is %d bytes", n.Size())
	}
	k.Types["pageflag_names[]"] = fk.Array(k.Types["struct trace_print_flags"], 3)
	names := k.Var("pageflag_names", "pageflag_names[]")
	for i, n := range []string{"locked", "referenced"} {
		s := k.Alloc(16, 8)
		k.Mem.Write(s, append([]byte(n), 0))
		k.Put64(names+uint64(16*i), 1<<i)
		k.Put64(names+uint64(16*i)+8, s)
	}
	k.Put64(k.Var("max_pfn", "long unsigned int"), 0x10000)
	zero := k.Var("empty_zero_page", "long unsigned int")
	_ = zero
	// Every struct page the tests read.
	for _, pa := range []uint64{0x1234000, zeroPhys, 0x7000} {
		for off := uint64(0); off < pageStruct; off += 8 {
			k.Put64(pageBase+pa/4096*pageStruct+off, 0)
		}
	}
	p := uint64(pageBase + 0x1234000/4096*pageStruct)
	k.Set(p, "struct page", "flags", 0x3)
	k.Set(p, "struct page", "mapping", 0xffff888012345678)
	k.Set(p, "struct page", "index", 7)
	k.Set(p, "struct page", "_refcount.counter", 2)

	mm := k.New("struct mm_struct")
	vma := k.New("struct vm_area_struct")
	k.Set(mm, "struct mm_struct", "mmap", vma)
	k.Set(mm, "struct mm_struct", "pgd", userPGD)
	k.Set(vma, "struct vm_area_struct", "vm_start", 0x400000)
	k.Set(vma, "struct vm_area_struct", "vm_end", 0x402000)
	k.Set(vma, "struct vm_area_struct", "vm_flags", 0x875)
	return k, &tasks.Task{Addr: 0xffff888000200000, MM: mm}
}

func TestVtopKernel(t *testing.T) {
	k, _ := kernel(t)
	m := New(space{}, k.C)
	tr := m.VtopKernel(0xffffffff01234567)
	want := &Translation{
		Address:  0xffffffff01234567,
		TopTable: topTable,
		Leaf:     &Leaf{Entry: 0x1234063, Phys: 0x1234000, Flags: []string{"PRESENT"}},
		Page: &Page{Addr: pageBase + 0x1234*pageStruct, Phys: 0x1234000, Mapping: 0xffff888012345678, Index: 7,
			Count: 2, Flags: 3, FlagNames: []string{"locked", "referenced"}},
	}
	if d := cmp.Diff(want, tr, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Walk" }, cmp.Ignore())); d != "" {
		t.Errorf("VtopKernel (-want +got):\n%s", d)
	}
	if !tr.Walk.Mapped || tr.Walk.Phys != 0x1234567 || len(tr.Walk.Steps) != 2 {
		t.Errorf("walk = %+v", tr.Walk)
	}
	b, err := json.Marshal(tr)
	if err != nil || !strings.Contains(string(b), `"steps":[{"level":"TOP","entry_addr":"0x1000","entry":"0x2063"}`) ||
		!strings.Contains(string(b), `"phys":"0x1234567"`) || !strings.Contains(string(b), `"flag_names":["locked","referenced"]`) {
		t.Errorf("JSON = %s, %v", b, err)
	}

	// A user address asked as a kernel one.
	if tr := m.VtopKernel(0x400000); !tr.NotKernel || tr.Leaf != nil {
		t.Errorf("VtopKernel(user address) = %+v", tr)
	}
	// A walk stopped by a table the dump lacks: the steps read and why.
	tr = m.VtopKernel(0xffffffff0dead123)
	if tr.Walk.Mapped || tr.Leaf != nil || tr.Page != nil || len(tr.Walk.Steps) != 1 {
		t.Errorf("a broken walk = %+v", tr)
	}
	if b, _ := json.Marshal(tr); !strings.Contains(string(b), `"walk_error":"table 0x2000 not in the dump"`) {
		t.Errorf("JSON of a broken walk: %s", b)
	}
	// Beyond max_pfn: no struct page.
	if tr := m.VtopKernel(0xffffffff20000000); tr.Page != nil || tr.Leaf == nil {
		t.Errorf("a page beyond max_pfn: %+v", tr)
	}
	// Without the kernel's types: the walk, and no struct page.
	if tr := New(space{}, nil).VtopKernel(0xffffffff01234567); tr.Page != nil || !tr.Walk.Mapped {
		t.Errorf("without types: %+v", tr)
	}
}

func TestVtopUser(t *testing.T) {
	k, task := kernel(t)
	sp := space{user: map[uint64]uint64{0x400000: zeroPhys}}
	m := New(sp, k.C)
	// The zero page: the address of empty_zero_page translates (toy
	// Translate: the low 32 bits) to zeroPhys.
	k.Vars["empty_zero_page"].Addr = 0xffffffff00000000 | zeroPhys
	m = New(sp, k.C)
	tr, err := m.VtopUser(task, 0x400010)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.User || tr.Mapping == nil || tr.Mapping.Start != 0x400000 || !tr.Walk.Mapped || tr.Walk.Phys != zeroPhys+0x10 ||
		!tr.ZeroPage || tr.TopTable != userPGD || tr.Task != arch.Word(task.Addr) {
		t.Errorf("VtopUser(zero page) = %+v", tr)
	}
	// The second page of the mapping is not present; an anonymous
	// mapping has no file to read it from.
	if tr, err := m.VtopUser(task, 0x401000); err != nil || tr.Walk.Mapped || tr.Leaf != nil || tr.File != "" || tr.Mapping == nil {
		t.Errorf("VtopUser(not present) = %+v, %v", tr, err)
	}
	// No mapping holds it: not accessible, nothing walked.
	if tr, err := m.VtopUser(task, 0x800000); err != nil || tr.Mapping != nil || len(tr.Walk.Steps) != 0 {
		t.Errorf("VtopUser(no mapping) = %+v, %v", tr, err)
	}
	// A kernel thread has no user space.
	if tr, err := m.VtopUser(&tasks.Task{Addr: 1}, 0x400000); err != nil || tr.Mapping != nil {
		t.Errorf("VtopUser(kernel thread) = %+v, %v", tr, err)
	}
	if _, err := New(sp, nil).VtopUser(task, 0x400000); !errors.Is(err, ErrNeedTypes) {
		t.Errorf("VtopUser without types: %v", err)
	}
}
