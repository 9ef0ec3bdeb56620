package vmcore

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
		// ELF segments need not be page aligned; count bytes and convert,
		// rounding partial pages up.
		var stored, zeros, lost uint64
		size := uint64(d.elf.Size())
		for _, s := range d.elf.Segments {
			st.MemoryBytes += s.MemSize
			fileSize := min(s.FileSize, s.MemSize)
			avail := fileSize
			if s.Offset >= size {
				avail = 0
			} else if size-s.Offset < fileSize {
				avail = size - s.Offset
			}
			stored += avail
			lost += fileSize - avail
			zeros += s.MemSize - fileSize
		}
		p := uint64(ps)
		st.Zero = (zeros + p - 1) / p
		st.Lost = (lost + p - 1) / p
		st.Present = (stored+p-1)/p + st.Zero
		st.Compressions = []string{"none"}
	}
	return st, nil
}
