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
		d.elfPageStats(&st)
	}
	return st, nil
}

// elfPageStats counts the pages of an ELF dump. Segments may overlap (the
// kernel's /proc/vmcore maps the kernel image twice: once at its text
// address, once in the direct map) and need not be page aligned, so each
// physical page is counted once, by the first segment that covers it.
func (d *Dump) elfPageStats(st *PageStats) {
	ps := uint64(st.PageSize)
	size := uint64(d.elf.Size())
	var covered uint64 // physical addresses below this are counted
	next := uint64(0)  // first pfn not yet counted
	count := func(n *uint64, start, end uint64) {
		start = max(start, covered)
		if end <= start {
			return
		}
		covered = end
		first := max(start/ps, next)
		last := (end + ps - 1) / ps
		if last > first {
			*n += last - first
			next = last
		}
	}
	var memory uint64
	for _, s := range d.elf.Segments {
		if s.MemSize == 0 {
			continue
		}
		fileSize := min(s.FileSize, s.MemSize)
		avail := fileSize
		if s.Offset >= size {
			avail = 0
		} else if size-s.Offset < fileSize {
			avail = size - s.Offset
		}
		before := st.Present + st.Lost + st.Zero
		count(&st.Present, s.PAddr, s.PAddr+avail)
		count(&st.Lost, s.PAddr+avail, s.PAddr+fileSize)
		count(&st.Zero, s.PAddr+fileSize, s.PAddr+s.MemSize)
		memory += st.Present + st.Lost + st.Zero - before
	}
	st.Present += st.Zero // Present counts zero pages too, as for kdumps
	st.MemoryBytes = memory * ps
	st.Compressions = []string{"none"}
}
