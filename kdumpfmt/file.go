package kdumpfmt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/physmem"
)

// Kind is a format that Sniff recognises.
type Kind int

const (
	KindKdump     Kind = iota + 1 // "KDUMP   " signature
	KindDiskdump                  // "DISKDUMP" signature
	KindFlattened                 // makedumpfile -F stream of a kdump or diskdump file
	// KindFlattenedELF is a makedumpfile -F -E stream: an ELF core in
	// flattened records. File cannot read it, but Rearrange gives the ELF
	// reader a view of the rearranged file.
	KindFlattenedELF
)

func (k Kind) String() string {
	switch k {
	case KindKdump:
		return "kdump"
	case KindDiskdump:
		return "diskdump"
	case KindFlattened:
		return "kdump-flat"
	case KindFlattenedELF:
		return "elf-flat"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// IsKdump reports whether header, the first bytes of a file (at least 32),
// starts a dump this package may read: a kdump or diskdump header or a
// flattened stream (whose content only Sniff can tell).
func IsKdump(header []byte) bool {
	switch {
	case len(header) >= 8 && (string(header[:8]) == SignatureKdump || string(header[:8]) == SignatureDiskdump):
		return true
	}
	return IsFlattened(header)
}

// sniffScanRecords bounds how many flattened records Sniff reads looking
// for the one at offset 0; makedumpfile writes that one first.
const sniffScanRecords = 4096

// Sniff tells whether r holds a dump that File reads, and which kind. For
// a flattened stream it looks at the first bytes of the rearranged file:
// a flattened ELF core gives KindFlattenedELF and false.
func Sniff(r io.ReaderAt) (Kind, bool) {
	var b [32]byte
	n, _ := r.ReadAt(b[:], 0)
	switch {
	case n >= 8 && string(b[:8]) == SignatureKdump:
		return KindKdump, true
	case n >= 8 && string(b[:8]) == SignatureDiskdump:
		return KindDiskdump, true
	case !IsFlattened(b[:n]):
		return 0, false
	}
	pos := int64(flatHeaderSize)
	for i := 0; i < sniffScanRecords; i++ {
		var rec [flatRecordSize]byte
		if _, err := r.ReadAt(rec[:], pos); err != nil {
			break
		}
		off := int64(binary.BigEndian.Uint64(rec[0:]))
		size := int64(binary.BigEndian.Uint64(rec[8:]))
		if off < 0 || size < 0 || size > 1<<40 {
			break
		}
		pos += flatRecordSize
		if off == 0 && size >= 8 {
			var sig [8]byte
			if _, err := r.ReadAt(sig[:], pos); err != nil {
				break
			}
			switch {
			case string(sig[:]) == SignatureKdump, string(sig[:]) == SignatureDiskdump:
				return KindFlattened, true
			case string(sig[:4]) == "\x7fELF":
				return KindFlattenedELF, false
			}
			return 0, false
		}
		pos += size
	}
	return KindFlattened, true // let Open tell what the records hold
}

// Rearrange returns a view of a flattened file (makedumpfile -F) as the
// file makedumpfile -R would write, and that file's size. It reads the
// record headers once; reads then cost a binary search.
func Rearrange(r io.ReaderAt, size int64) (io.ReaderAt, int64, error) {
	fr, err := newFlatReader(r, size)
	if err != nil {
		return nil, 0, err
	}
	return fr, fr.Size(), nil
}

// Limits on metadata read whole into memory. Beyond them a dump is
// corrupt: real notes are kilobytes, VMCOREINFO one page.
const (
	maxNoteSize      = 64 << 20
	maxEraseinfoSize = 64 << 20
)

// part is one file of a dump: the whole dump, or one file of a split set.
type part struct {
	name      string
	r         io.ReaderAt // rearranged view for flattened files
	size      int64       // size of the (rearranged) file
	fileSize  int64       // bytes actually in the file
	flat      *flatReader
	hdr       Header
	sub       SubHeader
	start     uint64 // first PFN whose descriptor this file holds
	end       uint64 // one past the last
	pdOff     int64  // file offset of the page descriptors
	rankBase  uint64 // set bits of the dumpable bitmap below start
	ndesc     uint64 // descriptors in this file
	truncated bool   // the descriptor table runs past the end of the file
	descs     *descCache
	ram       *bitmap
	dumpable  *bitmap
}

// File is an open kdump or diskdump dump: one file, a flattened file or a
// split set. Its methods are safe for concurrent use.
type File struct {
	// Header and SubHeader are those of the first file (lowest PFN range).
	Header    Header
	SubHeader SubHeader
	// Warnings lists conditions that do not stop reading but make some
	// pages unavailable: an incomplete or truncated dump, a split set with
	// files missing.
	Warnings []string

	format     string
	parts      []*part
	maxPFN     uint64
	pageSize   int
	ram        *bitmap
	dumpable   *bitmap
	rank       *rankIndex
	notes      []byte
	vmcoreinfo []byte
	eraseinfo  []byte
	incomplete bool
	cache      pageCache
	closers    []io.Closer
}

// Open opens a dump file, or the files of a split set in any order.
func Open(names ...string) (*File, error) {
	if len(names) == 0 {
		return nil, errors.New("kdumpfmt: Open: no file names")
	}
	var readers []io.ReaderAt
	var sizes []int64
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	for _, name := range names {
		fh, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, err
		}
		closers = append(closers, fh)
		st, err := fh.Stat()
		if err != nil {
			closeAll()
			return nil, err
		}
		readers = append(readers, fh)
		sizes = append(sizes, st.Size())
	}
	f, err := newFile(readers, sizes, names)
	if err != nil {
		closeAll()
		if len(names) == 1 {
			return nil, fmt.Errorf("%s: %w", names[0], err)
		}
		return nil, err
	}
	f.closers = closers
	return f, nil
}

// NewFile reads a dump (plain or flattened) of size bytes from r.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	return newFile([]io.ReaderAt{r}, []int64{size}, nil)
}

// NewSplit reads the files of a split set, in any order.
func NewSplit(parts []io.ReaderAt, sizes []int64) (*File, error) {
	if len(parts) != len(sizes) || len(parts) == 0 {
		return nil, errors.New("kdumpfmt: NewSplit needs one size per part and at least one part")
	}
	return newFile(parts, sizes, nil)
}

// Close closes the files that Open opened.
func (f *File) Close() error {
	var first error
	for _, c := range f.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	f.closers = nil
	return first
}

func newFile(readers []io.ReaderAt, sizes []int64, names []string) (*File, error) {
	f := &File{}
	for i, r := range readers {
		name := fmt.Sprintf("file #%d", i)
		if names != nil {
			name = names[i]
		}
		p, err := openPart(r, sizes[i], name)
		if err != nil {
			if len(readers) > 1 {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return nil, err
		}
		f.parts = append(f.parts, p)
	}
	sort.SliceStable(f.parts, func(i, j int) bool { return f.parts[i].start < f.parts[j].start })
	first := f.parts[0]
	f.Header, f.SubHeader = first.hdr, first.sub
	f.pageSize = int(first.hdr.BlockSize)
	f.maxPFN = maxPFNOf(&first.hdr, &first.sub)
	f.ram = first.ram
	for i, p := range f.parts {
		if p.hdr.BlockSize != first.hdr.BlockSize || maxPFNOf(&p.hdr, &p.sub) != f.maxPFN ||
			p.hdr.Signature != first.hdr.Signature || p.hdr.Utsname != first.hdr.Utsname {
			return nil, fmt.Errorf("kdumpfmt: %s and %s are not files of the same dump", first.name, p.name)
		}
		if i > 0 && p.start < f.parts[i-1].end {
			return nil, fmt.Errorf("kdumpfmt: %s and %s cover overlapping page ranges [%#x,%#x) and [%#x,%#x)",
				f.parts[i-1].name, p.name, f.parts[i-1].start, f.parts[i-1].end, p.start, p.end)
		}
		if p.hdr.Status&StatusIncomplete != 0 {
			f.incomplete = true
		}
	}

	// One dumpable bitmap for the whole set: each file contributes the
	// bits of its own range, so a rank over it, minus the rank at the
	// file's start, indexes that file's descriptors.
	if len(f.parts) == 1 && first.start == 0 && first.end >= f.maxPFN {
		f.dumpable = first.dumpable
	} else {
		f.dumpable = newEmptyBitmap(f.maxPFN)
		for _, p := range f.parts {
			copyBits(f.dumpable, p.dumpable, p.start, p.end)
		}
	}
	f.rank = newRankIndex(f.dumpable)
	var next uint64
	for _, p := range f.parts {
		p.rankBase = f.rank.rank(p.start)
		p.ndesc = f.rank.rank(p.end) - p.rankBase
		p.descs = newDescCache(p.ndesc)
		if p.ndesc > uint64(p.size) || p.pdOff+int64(p.ndesc)*pageDescSize > p.size {
			p.truncated = true
			if p.hdr.Status&StatusIncomplete == 0 {
				f.Warnings = append(f.Warnings, fmt.Sprintf("%s is truncated: its %d page descriptors run past its end (%d bytes); pages past the end are lost", p.name, p.ndesc, p.size))
			}
		}
		if p.start > next {
			f.Warnings = append(f.Warnings, fmt.Sprintf("split set incomplete: no file holds pages [%#x, %#x); they are lost", next, p.start))
		}
		next = max(next, p.end)
		if p.flat != nil && !p.flat.ended {
			f.Warnings = append(f.Warnings, fmt.Sprintf("%s: flattened stream ends without its end record (truncated)", p.name))
		}
	}
	if next < f.maxPFN {
		f.Warnings = append(f.Warnings, fmt.Sprintf("split set incomplete: no file holds pages [%#x, %#x); they are lost", next, f.maxPFN))
	}
	if f.incomplete {
		f.Warnings = append(f.Warnings, "dump is incomplete (makedumpfile could not write all pages); pages never written are reported as lost")
	}
	for _, p := range f.parts {
		p.ram, p.dumpable = nil, nil // the shared bitmaps replace them
	}

	switch {
	case first.hdr.Signature == SignatureDiskdump:
		f.format = "diskdump"
	case len(f.parts) > 1 || first.sub.Split != 0:
		f.format = "kdump-split"
	case first.flat != nil:
		f.format = "kdump-flat"
	default:
		f.format = "kdump"
	}
	if err := f.readMetadata(first); err != nil {
		return nil, err
	}
	f.cache.init(f.pageSize)
	return f, nil
}

func maxPFNOf(h *Header, s *SubHeader) uint64 {
	if h.Version >= 6 && s.MaxMapNr64 != 0 {
		return s.MaxMapNr64
	}
	return uint64(h.MaxMapNr)
}

// ErrFlattened is ReadHeaders' answer for a flattened file, whose headers
// can only be found by indexing the whole file (Open does).
var ErrFlattened = errors.New("kdumpfmt: a flattened file: its headers are found by reading it whole (use Open)")

// ReadHeaders decodes only the header and sub-header of a plain (not
// flattened) kdump file: what a caller needs to tell files apart, such as
// the members of a split set, without reading the bitmaps as Open does.
func ReadHeaders(r io.ReaderAt) (Header, SubHeader, error) {
	var head [headerReadSize]byte
	n, err := r.ReadAt(head[:], 0)
	if n < 32 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, SubHeader{}, fmt.Errorf("kdumpfmt: reading header: %w", err)
	}
	if IsFlattened(head[:n]) {
		return Header{}, SubHeader{}, ErrFlattened
	}
	h, err := decodeHeader(head[:n])
	if err != nil {
		return Header{}, SubHeader{}, err
	}
	var subBuf [128]byte
	m := 0
	if bs := int64(h.BlockSize); h.Version >= 1 {
		m, _ = r.ReadAt(subBuf[:], bs)
	}
	s, err := decodeSubHeader(&h, subBuf[:m])
	return h, s, err
}

// MaxPFN is the number of page frames the headers describe (the 64-bit
// sub-header field from version 6 on, else the header's), as File.MaxPFN.
func MaxPFN(h *Header, s *SubHeader) uint64 { return maxPFNOf(h, s) }

// openPart parses the headers and bitmaps of one file.
func openPart(r io.ReaderAt, size int64, name string) (*part, error) {
	p := &part{name: name, r: r, size: size, fileSize: size}
	var head [headerReadSize]byte
	n, err := r.ReadAt(head[:], 0)
	if n < 32 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("kdumpfmt: reading header: %w", err)
	}
	if IsFlattened(head[:n]) {
		fr, err := newFlatReader(r, size)
		if err != nil {
			return nil, err
		}
		p.flat, p.r, p.size = fr, fr, fr.Size()
		n, err = fr.ReadAt(head[:], 0)
		if n < 8 {
			return nil, fmt.Errorf("kdumpfmt: flattened dump holds no header (%v)", noEOF(err))
		}
	}
	h, err := decodeHeader(head[:n])
	if err != nil {
		return nil, err
	}
	bs := int64(h.BlockSize)

	// Sub-header: only the struct is needed here; notes and VMCOREINFO
	// are read by offset later.
	var subBuf [128]byte
	m := 0
	if h.Version >= 1 && bs < p.size {
		m, _ = p.r.ReadAt(subBuf[:min(int64(len(subBuf)), p.size-bs)], bs)
	}
	s, err := decodeSubHeader(&h, subBuf[:m])
	if err != nil {
		return nil, err
	}
	p.hdr, p.sub = h, s

	maxPFN := maxPFNOf(&h, &s)
	bitmapOff := (1 + int64(h.SubHdrSize)) * bs
	bitmapLen := int64(h.BitmapBlocks) * bs
	if bitmapOff < 0 || bitmapOff > p.size || bitmapLen > p.size-bitmapOff {
		return nil, fmt.Errorf("kdumpfmt: bitmap of %d bytes at offset %d runs past the end of the file (%d bytes)", bitmapLen, bitmapOff, p.size)
	}
	// Two bitmaps (RAM, then dumpable) when the blocks can hold two; the
	// oldest dumps had only one, used for both (as crash reads them).
	mapBytes := int64((maxPFN + 7) / 8)
	half := bitmapLen
	twoMaps := int64(h.BitmapBlocks) >= 2*((mapBytes+bs-1)/bs)
	if twoMaps {
		half = bitmapLen / 2
	}
	if maxPFN > uint64(half)*8 {
		return nil, fmt.Errorf("kdumpfmt: bitmap of %d bytes cannot cover %d pages", half, maxPFN)
	}
	if mapBytes > p.fileSize {
		return nil, fmt.Errorf("kdumpfmt: header claims %d pages, more than a file of %d bytes can describe", maxPFN, p.fileSize)
	}
	if p.ram, err = readBitmap(p.r, bitmapOff, mapBytes, maxPFN); err != nil {
		return nil, fmt.Errorf("kdumpfmt: reading the RAM bitmap: %w", noEOF(err))
	}
	if twoMaps {
		if p.dumpable, err = readBitmap(p.r, bitmapOff+half, mapBytes, maxPFN); err != nil {
			return nil, fmt.Errorf("kdumpfmt: reading the dumpable bitmap: %w", noEOF(err))
		}
	} else {
		p.dumpable = p.ram
	}

	p.start, p.end = 0, maxPFN
	if h.Version >= 2 && s.Split != 0 {
		if h.Version >= 6 {
			p.start, p.end = s.StartPFN64, s.EndPFN64
		} else {
			p.start, p.end = s.StartPFN, s.EndPFN
		}
		p.end = min(p.end, maxPFN)
		if p.start > p.end {
			return nil, fmt.Errorf("kdumpfmt: split file range [%#x, %#x) is empty or reversed", p.start, p.end)
		}
	}
	p.pdOff = bitmapOff + bitmapLen
	return p, nil
}

// copyBits copies bits [start, end) of src into dst.
func copyBits(dst, src *bitmap, start, end uint64) {
	for pfn := start; pfn < end; {
		w := pfn / 64
		lo := pfn % 64
		hi := min(uint64(64), end-w*64)
		var mask uint64
		if hi-lo == 64 {
			mask = ^uint64(0)
		} else {
			mask = ((1 << (hi - lo)) - 1) << lo
		}
		dst.setWord(w, dst.word(w)&^mask|src.word(w)&mask)
		pfn = w*64 + hi
	}
}

// readMetadata reads notes, VMCOREINFO and eraseinfo of the first file.
func (f *File) readMetadata(p *part) error {
	s := &p.sub
	v := p.hdr.Version
	if p.hdr.Signature == SignatureDiskdump {
		return nil // its sub-header is arch-specific and holds none of these
	}
	var err error
	if v >= 4 && s.SizeNote != 0 {
		if f.notes, err = p.readBlob("ELF notes", s.OffsetNote, s.SizeNote, maxNoteSize); err != nil {
			return err
		}
	}
	if v >= 3 && s.SizeVmcoreinfo != 0 {
		if f.vmcoreinfo, err = p.readBlob("VMCOREINFO", s.OffsetVmcoreinfo, s.SizeVmcoreinfo, maxNoteSize); err != nil {
			return err
		}
	} else if f.notes != nil {
		f.vmcoreinfo = findNote(f.notes, p.hdr.ByteOrder, "VMCOREINFO")
	}
	if v >= 5 && s.SizeEraseinfo != 0 {
		if f.eraseinfo, err = p.readBlob("eraseinfo", s.OffsetEraseinfo, s.SizeEraseinfo, maxEraseinfoSize); err != nil {
			return err
		}
	}
	return nil
}

func (p *part) readBlob(what string, off, size uint64, limit int64) ([]byte, error) {
	if size > uint64(limit) || size > uint64(p.fileSize) {
		return nil, fmt.Errorf("kdumpfmt: %s claims %d bytes (file has %d, limit %d)", what, size, p.fileSize, limit)
	}
	if off > uint64(p.size) || size > uint64(p.size)-off {
		return nil, fmt.Errorf("kdumpfmt: %s of %d bytes at offset %d runs past the end of the file (%d bytes)", what, size, off, p.size)
	}
	buf := make([]byte, size)
	if _, err := p.r.ReadAt(buf, int64(off)); err != nil {
		return nil, fmt.Errorf("kdumpfmt: reading %s: %w", what, noEOF(err))
	}
	return buf, nil
}

// findNote returns the descriptor of the first ELF note called name.
func findNote(notes []byte, order binary.ByteOrder, name string) []byte {
	ns, _ := elfcore.ParseNotes(notes, order) // the notes before a bad one still count
	for _, n := range ns {
		if n.Name == name {
			return n.Desc
		}
	}
	return nil
}

// Format names the dump's format: "kdump", "kdump-flat", "kdump-split" or
// "diskdump".
func (f *File) Format() string { return f.format }

// MaxPFN is the number of page frames the dump describes (max_mapnr).
func (f *File) MaxPFN() uint64 { return f.maxPFN }

// PageSize is the dump's page (and block) size in bytes.
func (f *File) PageSize() int { return f.pageSize }

// Incomplete reports the incomplete flag: some pages were never written.
func (f *File) Incomplete() bool { return f.incomplete }

// Flattened reports whether any file of the dump is in the flattened format.
func (f *File) Flattened() bool {
	for _, p := range f.parts {
		if p.flat != nil {
			return true
		}
	}
	return false
}

// Files is the number of files the dump was read from.
func (f *File) Files() int { return len(f.parts) }

// Notes returns the raw ELF notes of the sub-header (nil before version 4),
// in the byte order Header.ByteOrder.
func (f *File) Notes() []byte { return f.notes }

// ParsedNotes splits Notes into ELF notes (NT_PRSTATUS per CPU,
// VMCOREINFO, QEMU CPU state...).
func (f *File) ParsedNotes() ([]elfcore.Note, error) {
	if len(f.notes) == 0 {
		return nil, nil
	}
	return elfcore.ParseNotes(f.notes, f.Header.ByteOrder)
}

// VMCOREINFO returns the VMCOREINFO text, or nil when the dump has none.
func (f *File) VMCOREINFO() []byte { return f.vmcoreinfo }

// EraseInfo returns the eraseinfo text (makedumpfile --config filtering
// records), or nil.
func (f *File) EraseInfo() []byte { return f.eraseinfo }

// Compression names the compression recorded in the header status: "zlib",
// "lzo", "snappy", "zstd" or "none". Pages that did not shrink are stored
// raw whatever the status says; Stats reports what the pages use.
func (f *File) Compression() string { return compressionName(f.Header.Status) }

func compressionName(flags uint32) string {
	switch {
	case flags&CompressZlib != 0:
		return "zlib"
	case flags&CompressLZO != 0:
		return "lzo"
	case flags&CompressSnappy != 0:
		return "snappy"
	case flags&CompressZstd != 0:
		return "zstd"
	}
	return "none"
}

// InRAM reports whether the first bitmap marks pfn as RAM.
func (f *File) InRAM(pfn uint64) bool { return pfn < f.maxPFN && f.ram.test(pfn) }

// Dumpable reports whether the dump holds data for pfn (the second bitmap,
// within the range of a file of the set).
func (f *File) Dumpable(pfn uint64) bool { return pfn < f.maxPFN && f.dumpable.test(pfn) }

// partFor returns the file holding pfn's descriptor, or nil.
func (f *File) partFor(pfn uint64) *part {
	if len(f.parts) == 1 {
		p := f.parts[0]
		if pfn >= p.start && pfn < p.end {
			return p
		}
		return nil
	}
	i := sort.Search(len(f.parts), func(i int) bool { return f.parts[i].end > pfn })
	if i < len(f.parts) && f.parts[i].start <= pfn {
		return f.parts[i]
	}
	return nil
}

func physErr(pfn uint64, pageSize int, k physmem.Kind) error {
	return &physmem.Error{Addr: pfn * uint64(pageSize), Kind: k}
}

// CorruptError reports a page descriptor or page data that cannot be
// right.
type CorruptError struct {
	PFN uint64 // page being read
	Msg string
	Err error // underlying decoder error, if any
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("kdumpfmt: page %#x: %s", e.PFN, e.Msg)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ReadPage reads page frame pfn into dst, which must hold a page. Pages
// the dump cannot supply give a *physmem.Error.
func (f *File) ReadPage(pfn uint64, dst []byte) error {
	if len(dst) < f.pageSize {
		return fmt.Errorf("kdumpfmt: ReadPage: buffer of %d bytes for a %d-byte page", len(dst), f.pageSize)
	}
	dst = dst[:f.pageSize]
	if f.cache.get(pfn, dst) {
		return nil
	}
	if err := f.loadPage(pfn, dst); err != nil {
		return err
	}
	f.cache.put(pfn, dst)
	return nil
}

// loadPage finds pfn's descriptor through the rank index and decodes its
// page into dst (one page long).
func (f *File) loadPage(pfn uint64, dst []byte) error {
	if pfn >= f.maxPFN {
		return physErr(pfn, f.pageSize, physmem.BeyondEnd)
	}
	if !f.ram.test(pfn) {
		return physErr(pfn, f.pageSize, physmem.NotInDump)
	}
	p := f.partFor(pfn)
	if p == nil {
		return physErr(pfn, f.pageSize, physmem.Lost)
	}
	if !f.dumpable.test(pfn) {
		return physErr(pfn, f.pageSize, physmem.Excluded)
	}
	idx := f.rank.rank(pfn) - p.rankBase
	s := getScratch(f.pageSize)
	defer putScratch(s)
	ok, err := p.descs.read(p, idx, &s.pdBuf)
	if err != nil {
		return fmt.Errorf("kdumpfmt: page %#x: reading descriptor %d: %w", pfn, idx, err)
	}
	if !ok { // past the end of the file: the dump stopped early
		return physErr(pfn, f.pageSize, physmem.Lost)
	}
	pd := decodePageDesc(s.pdBuf[:], p.hdr.ByteOrder)
	if pd.Offset == 0 {
		// Never a real data offset: the descriptor was never written.
		if f.incomplete || p.truncated {
			return physErr(pfn, f.pageSize, physmem.Lost)
		}
		return &CorruptError{PFN: pfn, Msg: "descriptor has data offset 0 in a dump not marked incomplete"}
	}
	if pd.Offset > uint64(p.size) || uint64(pd.Size) > uint64(p.size)-pd.Offset {
		return physErr(pfn, f.pageSize, physmem.Lost) // data past the end of the file
	}
	if pd.Flags&compressMask == 0 && pd.Flags != 0 {
		// A method this package does not know (a newer makedumpfile's).
		err := fmt.Errorf("%w: flags %#x", ErrUnsupportedCompression, pd.Flags)
		return &CorruptError{PFN: pfn, Msg: err.Error(), Err: err}
	}
	if pd.Flags == 0 {
		if int(pd.Size) != f.pageSize {
			return &CorruptError{PFN: pfn, Msg: fmt.Sprintf("raw page of %d bytes, page size is %d", pd.Size, f.pageSize)}
		}
		if _, err := p.r.ReadAt(dst, int64(pd.Offset)); err != nil {
			return fmt.Errorf("kdumpfmt: page %#x: reading data at %d: %w", pfn, pd.Offset, noEOF(err))
		}
		return nil
	}
	if pd.Size == 0 || int(pd.Size) > maxStoredSize(f.pageSize) {
		return &CorruptError{PFN: pfn, Msg: fmt.Sprintf("compressed page of %d bytes, page size is %d", pd.Size, f.pageSize)}
	}
	src := s.comp[:pd.Size]
	if _, err := p.r.ReadAt(src, int64(pd.Offset)); err != nil {
		return fmt.Errorf("kdumpfmt: page %#x: reading data at %d: %w", pfn, pd.Offset, noEOF(err))
	}
	if err := s.decompressPage(dst, src, pd.Flags); err != nil {
		return &CorruptError{PFN: pfn, Msg: err.Error(), Err: err}
	}
	return nil
}

// ReadAt reads physical memory at address off, as physmem.Reader. It stops
// at the first page the dump cannot supply, returning the bytes before it
// and a *physmem.Error naming that page's first address (or off itself when
// it lies inside the page).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("kdumpfmt: negative physical address %d", off)
	}
	ps := uint64(f.pageSize)
	n := 0
	var pagebuf *[]byte
	for n < len(p) {
		addr := uint64(off) + uint64(n)
		pfn, in := addr/ps, addr%ps
		if in == 0 && len(p)-n >= int(ps) {
			// A whole page goes straight to the caller, who keeps it: not
			// through the cache, which is for the partial reads of
			// structures (a fresh cache slot per page would cost a page
			// fault each to a short-lived process reading a log).
			if dst := p[n : n+int(ps)]; !f.cache.get(pfn, dst) {
				if err := f.loadPage(pfn, dst); err != nil {
					return n, fixAddr(err, addr)
				}
			}
			n += int(ps)
			continue
		}
		if f.cache.getPart(pfn, int(in), p[n:min(len(p), n+int(ps-in))]) {
			n += min(len(p)-n, int(ps-in))
			continue
		}
		if pagebuf == nil {
			pagebuf = f.cache.borrow()
			defer f.cache.giveBack(pagebuf)
		}
		if err := f.ReadPage(pfn, *pagebuf); err != nil {
			return n, fixAddr(err, addr)
		}
		n += copy(p[n:], (*pagebuf)[in:])
	}
	return n, nil
}

// fixAddr makes a *physmem.Error name the first address not read.
func fixAddr(err error, addr uint64) error {
	var pe *physmem.Error
	if errors.As(err, &pe) && pe.Addr != addr {
		return &physmem.Error{Addr: addr, Kind: pe.Kind}
	}
	return err
}
