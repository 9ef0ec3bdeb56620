package vmcore

import "github.com/vmcoretools/vmcore/elfcore"

// PageStats counts a dump's page frames by what the dump holds for them.
type PageStats struct {
	PageSize    int
	MemoryBytes uint64 // RAM described by the dump, held or not
	Present     uint64 // pages whose data is in the dump (Zero included)
	Excluded    uint64 // RAM pages filtered out by the dump level
	Zero        uint64 // pages the dump stores as zeros without their data
	Lost        uint64 // pages that should be in the dump but were never written
	// Compressions lists the page encodings used: "none", "zlib", "lzo",
	// "snappy", "zstd".
	Compressions []string
}

// PageStats counts pages. For compressed dumps it reads every page
// descriptor (not the pages), so it costs a pass over the descriptor table.
func (d *Dump) PageStats() (PageStats, error) {
	ps := d.PageSize()
	st := PageStats{PageSize: ps}
	switch {
	case d.kdump != nil:
		ks, err := d.kdump.Stats()
		if err != nil {
			return st, err
		}
		kps := uint64(d.kdump.PageSize())
		st.MemoryBytes = ks.RAM * kps
		st.Present, st.Excluded, st.Zero, st.Lost = ks.Present, ks.Excluded, ks.Zero, ks.Lost
		st.Compressions = ks.Compressions
	case d.elf != nil:
		d.elfPageStats(&st)
	}
	return st, nil
}

// elfPageStats counts the pages of an ELF dump from its disjoint physical
// ranges (segments may overlap: /proc/vmcore maps the kernel image twice).
// A page shared by two ranges (segments need not be page aligned) is
// counted once, by the first.
func (d *Dump) elfPageStats(st *PageStats) {
	ps := uint64(st.PageSize)
	next := uint64(0) // first pfn not yet counted
	var pages uint64
	for _, r := range d.elf.Ranges() {
		first, last := max(r.Start/ps, next), (r.End+ps-1)/ps
		if last <= first {
			continue
		}
		n := last - first
		next = last
		pages += n
		switch r.Kind {
		case elfcore.RangeData:
			st.Present += n
		case elfcore.RangeZero:
			st.Zero += n
			st.Present += n // Present counts zero pages too, as for kdumps
		case elfcore.RangeLost:
			st.Lost += n
		}
	}
	st.MemoryBytes = pages * ps
	st.Compressions = []string{"none"}
}
