package tasks

import (
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
)

// AddressSpace is a task's user address space, as crash's vm shows it:
// its mm_struct, page directory, resident and total size, and mappings.
type AddressSpace struct {
	Task arch.Word `json:"task"`
	// MM is the mm_struct, 0 for a kernel thread (then nothing else is
	// set); PGD its top page table.
	MM  arch.Word `json:"mm"`
	PGD arch.Word `json:"pgd"`
	// RSS and TotalVM are in KiB, as ps's RSS and VSZ.
	RSS     uint64 `json:"rss_kib"`
	TotalVM uint64 `json:"total_vm_kib"`
	// Mappings are the VMAs in address order.
	Mappings []Mapping `json:"mappings"`
}

// Mapping is one VMA with the path of its file.
type Mapping struct {
	VMA   arch.Word `json:"vma"` // the vm_area_struct
	Start arch.Word `json:"start"`
	End   arch.Word `json:"end"`
	Flags arch.Word `json:"flags"`
	File  arch.Word `json:"file"` // struct file, 0 for anonymous memory
	Path  string    `json:"path"` // "" for anonymous memory
}

// AddressSpace reads t's address space: the mm_struct's page directory
// and every mapping with its file's path. A kernel thread gives an
// AddressSpace with MM 0. On an unreadable structure it returns what was
// read before it, with an error naming the address.
func (tb *Table) AddressSpace(c *value.Context, t *Task) (*AddressSpace, error) {
	as := &AddressSpace{Task: arch.Word(t.Addr), MM: arch.Word(t.MM), RSS: tb.KiB(t.RSS), TotalVM: tb.KiB(t.TotalVM)}
	if t.MM == 0 {
		return as, nil
	}
	mm, err := c.At("struct mm_struct", t.MM)
	if err != nil {
		return as, err
	}
	as.PGD = arch.Word(u64Member(mm, "pgd"))
	vmas, err := VMAs(c, t.MM)
	for _, m := range vmas {
		as.Mappings = append(as.Mappings, Mapping{VMA: arch.Word(m.Addr), Start: arch.Word(m.Start), End: arch.Word(m.End), Flags: arch.Word(m.Flags),
			File: arch.Word(m.File), Path: FilePath(c, m.File)})
	}
	return as, err
}
