package kdumpfmt

import (
	"fmt"
	"math/bits"
	"sort"
)

// Stats counts a dump's page frames by what the dump holds for them.
type Stats struct {
	MaxPFN   uint64 // frames described (RAM or not)
	RAM      uint64 // frames in the first bitmap
	Present  uint64 // frames whose data is in the dump (Zero included)
	Excluded uint64 // RAM frames the dump level filtered out
	Zero     uint64 // frames stored as the shared zero page
	Lost     uint64 // frames meant to be dumped whose data was never written
	// Compressions lists the methods the stored pages use, sorted: "none"
	// (raw), "zlib", "lzo", "snappy", "zstd". The shared zero page is not
	// counted.
	Compressions []string
}

// countBits counts the set bits of bm in [start, end).
func countBits(bm *bitmap, start, end uint64) uint64 { return countBoth(bm, nil, start, end) }

// countBoth counts the bits set in both a and b (b nil: in a) in
// [start, end), skipping the chunks a does not keep.
func countBoth(a, b *bitmap, start, end uint64) uint64 {
	var n uint64
	end = min(end, a.nbits)
	for pfn := start; pfn < end; {
		w := pfn / 64
		if a.chunks[w>>chunkShift] == nil {
			pfn = (w>>chunkShift + 1) << chunkShift * 64
			continue
		}
		lo := pfn % 64
		hi := min(uint64(64), end-w*64)
		x := a.word(w)
		if b != nil {
			x &= b.word(w)
		}
		x >>= lo
		if hi-lo < 64 {
			x &= 1<<(hi-lo) - 1
		}
		n += uint64(bits.OnesCount64(x))
		pfn = w*64 + hi
	}
	return n
}

// Stats reads every page descriptor (not the pages) to count present,
// zero and lost pages and the compressions used. It costs one pass over
// the descriptor tables, so it is meant for reports, not for opening.
func (f *File) Stats() (Stats, error) {
	st := Stats{MaxPFN: f.maxPFN, RAM: countBits(f.ram, 0, f.maxPFN)}
	seen := map[string]bool{}
	var covered uint64 // RAM frames inside some file's range
	const chunk = 4096
	buf := make([]byte, chunk*pageDescSize)
	for _, p := range f.parts {
		covered += countBits(f.ram, p.start, p.end)
		dataStart := uint64(p.pdOff) + p.ndesc*pageDescSize
		// makedumpfile and QEMU write the shared zero page first in the
		// data; it is the zero page if the dump level says zero pages are
		// shared or if several descriptors point at it.
		zeroShared := p.sub.DumpLevel&1 != 0
		var zeroRefs uint64
		for idx := uint64(0); idx < p.ndesc; idx += chunk {
			n := min(chunk, p.ndesc-idx)
			off := p.pdOff + int64(idx)*pageDescSize
			// A hole in a sparse file (a damaged or hostile dump) reads as
			// zero descriptors, which are lost pages: count a hole's
			// descriptors at once instead of reading it.
			if p.flat == nil && off < p.size {
				if data, ok := nextData(p.r, off, p.size); ok && data > off+int64(n)*pageDescSize {
					whole := (uint64(min(data, p.size)-off) / pageDescSize) &^ (chunk - 1)
					whole = min(whole, p.ndesc-idx)
					if whole >= chunk {
						st.Lost += whole
						idx += whole - chunk
						continue
					}
				}
			}
			got, err := p.r.ReadAt(buf[:n*pageDescSize], off)
			if got < int(n)*pageDescSize && off+int64(n)*pageDescSize <= p.size {
				return st, fmt.Errorf("kdumpfmt: reading page descriptors at %d: %w", off, noEOF(err))
			}
			whole := uint64(got) / pageDescSize
			st.Lost += n - whole // the table runs past the end of the file
			for i := uint64(0); i < whole; i++ {
				d := decodePageDesc(buf[i*pageDescSize:], p.hdr.ByteOrder)
				switch {
				case d.Offset == 0, d.Offset > uint64(p.size), uint64(d.Size) > uint64(p.size)-d.Offset:
					st.Lost++
				case d.Offset == dataStart && d.Flags&compressMask == 0 && int(d.Size) == f.pageSize:
					st.Present++
					zeroRefs++
				default:
					st.Present++
					seen[compressionName(d.Flags)] = true
				}
			}
		}
		if zeroShared || zeroRefs > 1 {
			st.Zero += zeroRefs
		} else if zeroRefs == 1 {
			seen["none"] = true // an ordinary raw page that happens to come first
		}
	}
	// Frames in RAM, in some file's range, and not dumpable. A dumpable
	// bit outside RAM (a damaged bitmap) counts for nothing.
	var dumpableRAM uint64
	for _, p := range f.parts {
		dumpableRAM += countBoth(f.ram, f.dumpable, p.start, p.end)
	}
	st.Excluded = covered - dumpableRAM
	st.Lost += st.RAM - covered // frames no file of a split set holds
	for name := range seen {
		st.Compressions = append(st.Compressions, name)
	}
	sort.Strings(st.Compressions)
	return st, nil
}
