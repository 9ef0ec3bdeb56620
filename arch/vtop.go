package arch

// Translation is the walk of one address as crash's vtop shows it.
type Translation struct {
	// Steps are the entries read, from the top table down.
	Steps []Step
	// Phys is the physical address, and Size the size of the page that
	// maps it (0 when Linear gave it).
	Phys, Size uint64
	// Mapped reports a translation; Phys is meaningful only then.
	Mapped bool
	// Linear: the address lies where crash translates by the kernel's
	// linear mappings rather than by walking; Steps still show the walk.
	Linear bool
	// NotPresent is, for a user walk, the leaf entry found not present:
	// a swap or migration entry when not zero.
	NotPresent uint64
	// Err is why a kernel walk could not go on (a table the dump lacks);
	// the steps before it were read.
	Err error
}

// Vtop is what crash's vtop display needs of a machine's address space;
// every KernelSpace has it.
type Vtop interface {
	// KernelAddr reports a kernel virtual address (crash's IS_KVADDR).
	KernelAddr(vaddr uint64) bool
	// UserAddr reports an address below the top of user space (crash's
	// vaddr_type), translated in a task's address space.
	UserAddr(vaddr uint64) bool
	// TopTable is the kernel virtual address of the kernel's top page
	// table (crash's PGD DIRECTORY).
	TopTable() uint64
	// VtopKernel translates a kernel address as crash's vtop does.
	// variable reads a kernel variable (a base address the machine's
	// layout rules need); without one, every address is walked.
	VtopKernel(vaddr uint64, variable func(name string) (uint64, bool)) Translation
	// VtopUser walks a process's page tables (root: mm->pgd, a kernel
	// virtual address) for a user address as crash shows it.
	VtopUser(root, vaddr uint64) (Translation, error)
	// EntryPhys is the physical address an entry points to.
	EntryPhys(entry uint64) uint64
	// EntryFlags names an entry's flags as crash prints them.
	EntryFlags(entry uint64) []string
	// PageStruct is the address of the struct page of the physical page
	// holding paddr, pageSize being sizeof(struct page); PageStructPhys
	// is its inverse.
	PageStruct(paddr, pageSize uint64, variable func(string) (uint64, bool)) (uint64, bool)
	PageStructPhys(page, pageSize uint64, variable func(string) (uint64, bool)) (uint64, bool)
	// KernelRegions gives where the regions of kernel virtual memory
	// begin, by address: the direct map, vmalloc space (modules
	// included), the struct page array and the kernel image. A region
	// whose base is unknown is left out.
	KernelRegions(variable func(string) (uint64, bool)) []KernelRegion
}

// RegionKind is a kind of kernel virtual memory.
type RegionKind int

const (
	// RegionDirect maps all of physical memory linearly.
	RegionDirect RegionKind = iota + 1
	// RegionVmalloc holds vmalloc's areas (and, where the machine puts
	// them there, modules); only the areas are mapped.
	RegionVmalloc
	// RegionPageArray is the virtual array of struct page (vmemmap).
	RegionPageArray
	// RegionImage maps the kernel image linearly.
	RegionImage
)

// KernelRegion is where one region of kernel virtual memory begins. Its
// end is the kernel's (its memory size, the last vmalloc area, the number
// of pages, the image's end symbol), found by the kernel model.
type KernelRegion struct {
	Kind  RegionKind
	Start uint64
}
