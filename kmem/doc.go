// Package kmem is the kernel model's view of memory: what an address is
// and what holds it.
//
// Memory answers for one dump's kernel. Its Vtop methods give the
// translation of a virtual address as a value (Translation): the
// page-table entries read from the top table down as the architecture
// names its levels, the physical address and the size of the page that
// maps it, the leaf entry's flags, the zero page, and, for a user address
// in a task's address space, the mapping (VMA) that holds it and, for a
// page not present, the file and offset it would be read from. Page reads
// the struct page of a physical page (its flags with the kernel's own
// names from pageflag_names, mapping, index and reference count).
//
// Info is the memory summary crash's kmem -i prints, as counts of pages:
// RAM, free (the zones' counters), crash's shared tally (a walk of
// mem_map), buffers, cache, slab, huge page pools, swap and the overcommit
// limit; a part that cannot be read is named in Info.Warnings.
//
// Kernel addresses need no vmlinux: the architecture walks the kernel's
// page tables, found through VMCOREINFO. The struct page, and anything of
// a user address space, needs the kernel's types; Memory made without
// them leaves those parts out.
//
// What differs by machine (which addresses are walked and which are
// translated by the linear maps, the names of the levels and flags, the
// place of a struct page) is the architecture's (arch.Vtop); this package
// names no machine.
package kmem
