package kdumpfmt

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// The flattened format (makedumpfile -F) lets makedumpfile write a dump to
// a pipe: a 4096-byte header, then records of {offset, size} (big-endian
// int64) followed by size bytes that belong at offset of the ordinary
// dump file, ended by a record whose offset and size are both -1.
// makedumpfile -R replays the records into a file; later records win.
const (
	flatSignature  = "makedumpfile"
	flatHeaderSize = 4096
	flatRecordSize = 16
	flatType       = 1
	flatVersion    = 1
)

// maxFlatRecords bounds the index so that a file of tiny records cannot
// make it large; makedumpfile writes records of kilobytes at least (about
// one per 32 KiB of file in the lab's dumps). A file may hold one record
// per flatMinAvgRecord bytes (and flatRecordSlack more), so that the
// index stays a sixteenth of the file's size at most; and at most
// maxEmptyRecords records without data, which makedumpfile never writes.
const (
	maxFlatRecords   = 1 << 26
	flatMinAvgRecord = 256
	flatRecordSlack  = 4096
	maxEmptyRecords  = 4096
)

// IsFlattened reports whether header (the first bytes of a file) starts a
// flattened dump.
func IsFlattened(header []byte) bool {
	if len(header) < 32 || !bytes.Equal(header[:16], append([]byte(flatSignature), 0, 0, 0, 0)) {
		return false
	}
	return binary.BigEndian.Uint64(header[16:]) == flatType
}

// flatExtent maps [off, off+size) of the rearranged file to file offset src.
type flatExtent struct {
	off, size, src int64
}

// flatReader reads a flattened file as if makedumpfile -R had rearranged it:
// an io.ReaderAt over the rearranged offsets, found by binary search over
// non-overlapping extents sorted by offset. Bytes no record wrote read as
// zeros, like the holes of the file -R would write.
type flatReader struct {
	r       io.ReaderAt
	extents []flatExtent
	size    int64 // end of the highest record
	records int   // records indexed
	ended   bool  // the end record was found (else the stream was cut short)
}

// newFlatReader indexes the records of a flattened file of fileSize bytes.
// It reads the record headers once, in order; the data is not read.
func newFlatReader(r io.ReaderAt, fileSize int64) (*flatReader, error) {
	var hdr [32]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("kdumpfmt: flattened header: %w", noEOF(err))
	}
	if !bytes.Equal(hdr[:16], append([]byte(flatSignature), 0, 0, 0, 0)) {
		return nil, errors.New("kdumpfmt: not a flattened dump (no makedumpfile signature)")
	}
	if t := int64(binary.BigEndian.Uint64(hdr[16:])); t != flatType {
		return nil, fmt.Errorf("kdumpfmt: flattened header: unknown type %d", t)
	}
	if v := int64(binary.BigEndian.Uint64(hdr[24:])); v != flatVersion {
		return nil, fmt.Errorf("kdumpfmt: flattened header: unknown version %d", v)
	}
	type record struct {
		flatExtent
		seq int
	}
	var recs []record
	pos := int64(flatHeaderSize)
	var rec [flatRecordSize]byte
	sorted, overlap := true, false
	ended := false
	limit := min(maxFlatRecords, int(fileSize/flatMinAvgRecord)+flatRecordSlack)
	empty := 0
	for {
		if pos+flatRecordSize > fileSize {
			break // truncated stream: keep what was indexed
		}
		if _, err := r.ReadAt(rec[:], pos); err != nil {
			return nil, fmt.Errorf("kdumpfmt: flattened record at %d: %w", pos, noEOF(err))
		}
		off := int64(binary.BigEndian.Uint64(rec[0:]))
		size := int64(binary.BigEndian.Uint64(rec[8:]))
		if off == -1 && size == -1 {
			ended = true
			break
		}
		if off < 0 || size < 0 || off > 1<<62 || size > fileSize {
			return nil, fmt.Errorf("kdumpfmt: flattened record at %d: bad offset %d or size %d", pos, off, size)
		}
		pos += flatRecordSize
		if size > fileSize-pos {
			return nil, fmt.Errorf("kdumpfmt: flattened record at %d: %d bytes run past the end of the file (%d)", pos-flatRecordSize, size, fileSize)
		}
		if size == 0 {
			if empty++; empty > maxEmptyRecords {
				return nil, fmt.Errorf("kdumpfmt: flattened record at %d: more than %d records without data (makedumpfile writes none)", pos-flatRecordSize, maxEmptyRecords)
			}
		}
		if size > 0 {
			if len(recs) >= limit {
				return nil, fmt.Errorf("kdumpfmt: flattened record at %d: more than %d records in a file of %d bytes (makedumpfile writes kilobytes a record)", pos-flatRecordSize, limit, fileSize)
			}
			if n := len(recs); n > 0 {
				prev := recs[n-1]
				if off < prev.off+prev.size {
					sorted = false
				}
			}
			recs = append(recs, record{flatExtent{off, size, pos}, len(recs)})
		}
		pos += size
	}
	f := &flatReader{r: r, records: len(recs), ended: ended}
	if sorted {
		f.extents = make([]flatExtent, len(recs))
		for i, rc := range recs {
			f.extents[i] = rc.flatExtent
		}
	} else {
		sort.SliceStable(recs, func(i, j int) bool { return recs[i].off < recs[j].off })
		for i := 1; i < len(recs) && !overlap; i++ {
			if recs[i].off < recs[i-1].off+recs[i-1].size {
				overlap = true
			}
		}
		if !overlap {
			f.extents = make([]flatExtent, len(recs))
			for i, rc := range recs {
				f.extents[i] = rc.flatExtent
			}
		} else {
			exts := make([]flatExtent, len(recs))
			seqs := make([]int, len(recs))
			for i, rc := range recs {
				exts[i], seqs[i] = rc.flatExtent, rc.seq
			}
			f.extents = resolveOverlaps(exts, seqs)
		}
	}
	for _, e := range f.extents {
		if end := e.off + e.size; end > f.size {
			f.size = end
		}
	}
	return f, nil
}

// resolveOverlaps turns records sorted by offset, some overlapping, into
// disjoint extents where each byte comes from the last record (highest seq)
// that wrote it. A sweep over the record boundaries with a max-heap of the
// records covering the current point keeps it O(n log n).
func resolveOverlaps(exts []flatExtent, seqs []int) []flatExtent {
	type point struct {
		at  int64
		idx int
	}
	ends := make([]point, len(exts))
	for i, e := range exts {
		ends[i] = point{e.off + e.size, i}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].at < ends[j].at })
	h := &seqHeap{seqs: seqs}
	alive := make([]bool, len(exts))
	var out []flatExtent
	emit := func(from, to int64) {
		if from >= to || h.Len() == 0 {
			return
		}
		i := h.idx[0]
		e := exts[i]
		src := e.src + (from - e.off)
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.off+last.size == from && last.src+last.size == src {
				last.size += to - from
				return
			}
		}
		out = append(out, flatExtent{from, to - from, src})
	}
	si, ei := 0, 0
	var cur int64
	for si < len(exts) || ei < len(ends) {
		var next int64
		if si < len(exts) && (ei >= len(ends) || exts[si].off <= ends[ei].at) {
			next = exts[si].off
		} else {
			next = ends[ei].at
		}
		emit(cur, next)
		cur = next
		for ei < len(ends) && ends[ei].at == cur {
			alive[ends[ei].idx] = false
			ei++
		}
		for si < len(exts) && exts[si].off == cur {
			alive[si] = true
			heap.Push(h, si)
			si++
		}
		for h.Len() > 0 && !alive[h.idx[0]] {
			heap.Pop(h)
		}
	}
	return out
}

type seqHeap struct {
	idx  []int
	seqs []int
}

func (h *seqHeap) Len() int           { return len(h.idx) }
func (h *seqHeap) Less(i, j int) bool { return h.seqs[h.idx[i]] > h.seqs[h.idx[j]] }
func (h *seqHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *seqHeap) Push(x any)         { h.idx = append(h.idx, x.(int)) }
func (h *seqHeap) Pop() any {
	n := len(h.idx)
	x := h.idx[n-1]
	h.idx = h.idx[:n-1]
	return x
}

// Size is the size of the rearranged file.
func (f *flatReader) Size() int64 { return f.size }

// ReadAt reads the rearranged file. Reads past its end return io.EOF.
func (f *flatReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("kdumpfmt: negative offset")
	}
	n := 0
	i := sort.Search(len(f.extents), func(i int) bool { return f.extents[i].off+f.extents[i].size > off })
	for n < len(p) {
		pos := off + int64(n)
		if pos >= f.size {
			return n, io.EOF
		}
		if i >= len(f.extents) {
			return n, io.EOF
		}
		e := f.extents[i]
		if pos < e.off { // a hole: zeros up to the next extent
			k := min(int64(len(p)-n), e.off-pos)
			clear(p[n : n+int(k)])
			n += int(k)
			continue
		}
		k := min(int64(len(p)-n), e.off+e.size-pos)
		m, err := f.r.ReadAt(p[n:n+int(k)], e.src+(pos-e.off))
		n += m
		if m < int(k) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		i++
	}
	return n, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: a structure that ends early
// is a truncated file, not a clean end.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
