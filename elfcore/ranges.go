package elfcore

// RangeKind says how a physical range of the dump is backed.
type RangeKind int

const (
	// RangeData: bytes stored in the file.
	RangeData RangeKind = iota + 1
	// RangeZero: p_memsz beyond p_filesz, read as zeros. makedumpfile -E
	// writes pages it excluded (zero, cache, user, free) this way, so in
	// its output these are the excluded pages; /proc/vmcore and QEMU
	// never write such ranges.
	RangeZero
	// RangeLost: bytes the file should hold but that are cut off.
	RangeLost
)

func (k RangeKind) String() string {
	switch k {
	case RangeData:
		return "data"
	case RangeZero:
		return "zero-filled"
	case RangeLost:
		return "lost"
	}
	return "RangeKind(?)"
}

// Range is a physical address range [Start, End) of one kind.
type Range struct {
	Start, End uint64
	Kind       RangeKind
}

// Ranges returns the physical memory the dump covers as disjoint ranges
// sorted by address, adjacent ranges of one kind merged. Unlike Segments it
// counts memory that two segments share (the kernel image segment of
// /proc/vmcore lies inside a RAM segment) once, so callers can count pages
// from it. Addresses in no range are holes or past the end.
func (f *File) Ranges() []Range {
	var out []Range
	add := func(start, end uint64, k RangeKind) {
		if start >= end {
			return
		}
		if n := len(out); n > 0 && out[n-1].End == start && out[n-1].Kind == k {
			out[n-1].End = end
			return
		}
		out = append(out, Range{start, end, k})
	}
	for _, s := range f.spans {
		add(s.start, min(s.avail, s.end), RangeData)
		add(max(s.start, s.avail), min(s.stored, s.end), RangeLost)
		add(max(s.start, s.stored), s.end, RangeZero)
	}
	return out
}
