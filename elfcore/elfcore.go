package elfcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Limits on sizes read from the file. Every count is also bounded by the
// file size, so these only cap what a huge but hostile file could demand.
const (
	// MaxSegments bounds the program header count (16 Mi headers fill
	// 896 MiB). A dump of a multi-terabyte machine written by makedumpfile
	// -E holds at most a few million PT_LOADs.
	MaxSegments = 1 << 24
	// MaxNoteBytes bounds the PT_NOTE data read into memory (all segments
	// together). A dump of 8192 CPUs needs about 4 MiB.
	MaxNoteBytes = 64 << 20
)

// e_flags bit 0: makedumpfile sets it when it could not write the whole dump
// (disk full, interrupted); the missing tail of the file is lost memory.
const flagIncomplete = 0x1

// Segment is one PT_LOAD program header: physical memory [PAddr,
// PAddr+MemSize) whose first FileSize bytes are stored at file offset Offset
// and whose remaining bytes are zeros.
type Segment struct {
	PAddr    uint64
	VAddr    uint64
	Offset   uint64
	FileSize uint64
	MemSize  uint64
}

// File is an open ELF core dump. Its exported fields are filled by NewFile
// and must not be modified; its methods are safe for concurrent use.
type File struct {
	Class     elf.Class
	Data      elf.Data         // ELFDATA2LSB or ELFDATA2MSB
	ByteOrder binary.ByteOrder // the byte order that Data names
	Machine   elf.Machine
	Flags     uint32 // e_flags; see Incomplete

	// Segments holds every PT_LOAD, sorted by physical address.
	Segments []Segment
	// Notes holds the notes of every PT_NOTE, in file order. Desc slices
	// share one buffer owned by the File.
	Notes []Note
	// Warnings describes damage that does not stop reading, such as a
	// truncated file whose last segments lost their data.
	Warnings []string

	r      io.ReaderAt
	size   int64
	closer io.Closer
	spans  []span // disjoint physical ranges, sorted, for ReadAt
	damage damage // tallied while reading program headers
}

// damage tallies per-segment problems so that a file with many damaged
// segments gets one warning per kind, not one per segment.
type damage struct {
	truncated      uint64 // PT_LOADs whose data runs past EOF
	firstTruncated uint64 // first lost physical address in program header order
	lostBytes      uint64
	oversized      uint64 // PT_LOADs with p_filesz > p_memsz
}

// span is a physical range [start, end) served by one segment. Bytes below
// avail come from the file at offset + (addr - base); bytes in [avail,
// stored) should be in the file but are cut off (lost); bytes from stored
// to end are zeros (p_memsz beyond p_filesz).
type span struct {
	start, end    uint64
	avail, stored uint64
	base          uint64 // p_paddr of the segment
	offset        uint64 // p_offset of the segment
}

// Open opens the named file with NewFile. Close the File to close the file.
func Open(name string) (*File, error) {
	fd, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, err
	}
	f, err := NewFile(fd, st.Size())
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.closer = fd
	return f, nil
}

// Close closes the underlying file if the File was created by Open; for a
// File from NewFile it does nothing. No read may run during or after Close.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// Incomplete reports makedumpfile's incomplete-dump flag (e_flags bit 0):
// the dump was cut short and memory whose data is missing reads as lost.
func (f *File) Incomplete() bool { return f.Flags&flagIncomplete != 0 }

// Size returns the size of the underlying file as given to NewFile.
func (f *File) Size() int64 { return f.size }

// header is the part of the ELF header that NewFile needs.
type header struct {
	class     elf.Class
	data      elf.Data
	order     binary.ByteOrder
	typ       elf.Type
	machine   elf.Machine
	flags     uint32
	phoff     uint64
	shoff     uint64
	phentsize uint64
	phnum     uint64
	shentsize uint64
}

// NewFile reads the headers and notes of the ELF core in r, which holds size
// bytes. It returns ErrNotELF for data without the ELF magic, an error
// matching ErrNotCore for other ELF files, and a *FormatError for a malformed
// core.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("elfcore: negative file size %d", size)
	}
	h, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	f := &File{
		Class: h.class, Data: h.data, ByteOrder: h.order, Machine: h.machine, Flags: h.flags,
		r: r, size: size,
	}
	if f.Incomplete() {
		f.warnf("dump is marked incomplete (e_flags bit 0): memory past the written part is lost")
	}
	var noteSegs []Segment
	f.Segments = make([]Segment, 0, min(h.phnum, 1<<16))
	err = readProgramHeaders(r, h, func(i uint64, typ elf.ProgType, s Segment) error {
		switch typ {
		case elf.PT_LOAD:
			return f.addLoad(i, h, s)
		case elf.PT_NOTE:
			noteSegs = append(noteSegs, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(f.Segments) == 0 {
		f.warnf("no PT_LOAD segments: the dump holds no memory")
	}
	if d := f.damage; d.truncated > 0 {
		f.warnf("file truncated at %d bytes: %d PT_LOAD segment(s) lack %d bytes of data, from physical address %#x on (read as lost)",
			f.size, d.truncated, d.lostBytes, d.firstTruncated)
	}
	if d := f.damage; d.oversized > 0 {
		f.warnf("%d PT_LOAD segment(s) have p_filesz > p_memsz; only p_memsz bytes are used", d.oversized)
	}
	if !slices.IsSortedFunc(f.Segments, compareSegments) {
		slices.SortStableFunc(f.Segments, compareSegments)
	}
	f.buildSpans()
	if err := f.readNotes(noteSegs); err != nil {
		return nil, err
	}
	return f, nil
}

// compareSegments orders segments by physical address, longer first at the
// same address so that buildSpans keeps the longer one.
func compareSegments(a, b Segment) int {
	if a.PAddr != b.PAddr {
		if a.PAddr < b.PAddr {
			return -1
		}
		return 1
	}
	if a.MemSize != b.MemSize {
		if a.MemSize > b.MemSize {
			return -1
		}
		return 1
	}
	return 0
}

func (f *File) warnf(format string, args ...any) {
	f.Warnings = append(f.Warnings, fmt.Sprintf(format, args...))
}

// readFull reads len(b) bytes at off. io.ReaderAt may report io.EOF with a
// complete read that ends at the end of the input; that is success.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func readHeader(r io.ReaderAt, size int64) (*header, error) {
	var buf [64]byte
	n := int64(len(buf))
	if size < n {
		n = size
	}
	if err := readFull(r, buf[:n], 0); err != nil {
		return nil, fmt.Errorf("elfcore: reading ELF header: %w", err)
	}
	if n < 4 || string(buf[:4]) != elf.ELFMAG {
		return nil, ErrNotELF
	}
	if n < elf.EI_NIDENT {
		return nil, formatErr(0, "file of %d bytes is too short for the ELF identification", size)
	}
	h := &header{class: elf.Class(buf[elf.EI_CLASS]), data: elf.Data(buf[elf.EI_DATA])}
	switch h.data {
	case elf.ELFDATA2LSB:
		h.order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		h.order = binary.BigEndian
	default:
		return nil, formatErr(elf.EI_DATA, "unknown ELF data encoding %d", buf[elf.EI_DATA])
	}
	if v := elf.Version(buf[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return nil, formatErr(elf.EI_VERSION, "unknown ELF version %d", v)
	}
	o := h.order
	var phdrSize, shdrSize uint64
	switch h.class {
	case elf.ELFCLASS64:
		if n < 64 {
			return nil, formatErr(0, "file of %d bytes is too short for an ELF64 header", size)
		}
		h.phoff = o.Uint64(buf[32:])
		h.shoff = o.Uint64(buf[40:])
		h.flags = o.Uint32(buf[48:])
		h.phentsize = uint64(o.Uint16(buf[54:]))
		h.phnum = uint64(o.Uint16(buf[56:]))
		h.shentsize = uint64(o.Uint16(buf[58:]))
		phdrSize, shdrSize = 56, 64
	case elf.ELFCLASS32:
		if n < 52 {
			return nil, formatErr(0, "file of %d bytes is too short for an ELF32 header", size)
		}
		h.phoff = uint64(o.Uint32(buf[28:]))
		h.shoff = uint64(o.Uint32(buf[32:]))
		h.flags = o.Uint32(buf[36:])
		h.phentsize = uint64(o.Uint16(buf[42:]))
		h.phnum = uint64(o.Uint16(buf[44:]))
		h.shentsize = uint64(o.Uint16(buf[46:]))
		phdrSize, shdrSize = 32, 40
	default:
		return nil, formatErr(elf.EI_CLASS, "unknown ELF class %d", buf[elf.EI_CLASS])
	}
	h.typ = elf.Type(o.Uint16(buf[16:]))
	h.machine = elf.Machine(o.Uint16(buf[18:]))
	if h.typ != elf.ET_CORE {
		return nil, fmt.Errorf("elfcore: e_type is %v: %w", h.typ, ErrNotCore)
	}

	if h.phnum == 0xffff { // PN_XNUM: the real count is section header 0's sh_info
		if h.shoff == 0 {
			return nil, formatErr(0, "e_phnum is PN_XNUM but there is no section header (e_shoff = 0)")
		}
		if h.shentsize < shdrSize {
			return nil, formatErr(0, "e_phnum is PN_XNUM but e_shentsize %d is smaller than a section header (%d)", h.shentsize, shdrSize)
		}
		if h.shoff > uint64(size) || uint64(size)-h.shoff < shdrSize {
			return nil, formatErr(int64(min(h.shoff, uint64(size))), "section header 0 at %#x lies past the end of the %d-byte file", h.shoff, size)
		}
		var sh [64]byte
		if err := readFull(r, sh[:shdrSize], int64(h.shoff)); err != nil {
			return nil, fmt.Errorf("elfcore: reading section header 0: %w", err)
		}
		infoOff := 44 // sh_info in Elf64_Shdr
		if h.class == elf.ELFCLASS32 {
			infoOff = 28
		}
		h.phnum = uint64(o.Uint32(sh[infoOff:]))
	}
	if h.phnum == 0 {
		return h, nil
	}
	if h.phentsize < phdrSize {
		return nil, formatErr(0, "e_phentsize %d is smaller than a program header (%d)", h.phentsize, phdrSize)
	}
	if h.phnum > MaxSegments {
		return nil, formatErr(0, "%d program headers exceed the limit of %d", h.phnum, MaxSegments)
	}
	if h.phoff > uint64(size) || (uint64(size)-h.phoff)/h.phentsize < h.phnum {
		return nil, formatErr(int64(min(h.phoff, uint64(size))),
			"%d program headers of %d bytes at %#x run past the end of the %d-byte file", h.phnum, h.phentsize, h.phoff, size)
	}
	return h, nil
}

// readProgramHeaders calls fn for each program header, reading the table in
// bounded chunks. readHeader has checked that the table lies in the file.
func readProgramHeaders(r io.ReaderAt, h *header, fn func(i uint64, typ elf.ProgType, s Segment) error) error {
	if h.phnum == 0 {
		return nil // e_phentsize is unchecked then, and may be 0
	}
	chunk := max(1, (256<<10)/h.phentsize) // headers per read: 256 KiB
	buf := make([]byte, min(h.phnum, chunk)*h.phentsize)
	o := h.order
	for first := uint64(0); first < h.phnum; first += chunk {
		cnt := min(h.phnum-first, chunk)
		b := buf[:cnt*h.phentsize]
		off := int64(h.phoff + first*h.phentsize)
		if err := readFull(r, b, off); err != nil {
			return fmt.Errorf("elfcore: reading program headers at %#x: %w", off, err)
		}
		for j := uint64(0); j < cnt; j++ {
			p := b[j*h.phentsize:]
			var typ elf.ProgType
			var s Segment
			if h.class == elf.ELFCLASS64 {
				typ = elf.ProgType(o.Uint32(p[0:]))
				s = Segment{Offset: o.Uint64(p[8:]), VAddr: o.Uint64(p[16:]), PAddr: o.Uint64(p[24:]),
					FileSize: o.Uint64(p[32:]), MemSize: o.Uint64(p[40:])}
			} else {
				typ = elf.ProgType(o.Uint32(p[0:]))
				s = Segment{Offset: uint64(o.Uint32(p[4:])), VAddr: uint64(o.Uint32(p[8:])), PAddr: uint64(o.Uint32(p[12:])),
					FileSize: uint64(o.Uint32(p[16:])), MemSize: uint64(o.Uint32(p[20:]))}
			}
			if err := fn(first+j, typ, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *File) phdrOff(h *header, i uint64) int64 { return int64(h.phoff + i*h.phentsize) }

func (f *File) addLoad(i uint64, h *header, s Segment) error {
	if s.PAddr+s.MemSize < s.PAddr {
		return formatErr(f.phdrOff(h, i), "PT_LOAD %d: physical range %#x+%#x overflows", i, s.PAddr, s.MemSize)
	}
	if s.Offset+s.FileSize < s.Offset {
		return formatErr(f.phdrOff(h, i), "PT_LOAD %d: file range %#x+%#x overflows", i, s.Offset, s.FileSize)
	}
	if s.FileSize > s.MemSize {
		f.damage.oversized++
	}
	if end := s.Offset + min(s.FileSize, s.MemSize); end > uint64(f.size) {
		if f.damage.truncated == 0 {
			f.damage.firstTruncated = s.PAddr + (max(s.Offset, uint64(f.size)) - s.Offset)
		}
		f.damage.truncated++
		f.damage.lostBytes += end - max(s.Offset, uint64(f.size))
	}
	f.Segments = append(f.Segments, s)
	return nil
}

// buildSpans turns the sorted segments into disjoint spans. Segments may
// overlap: /proc/vmcore on x86_64 maps the kernel image in a PT_LOAD of its
// own that lies inside a RAM segment. Both hold the same bytes, so the
// earlier (longer) segment serves the overlap.
func (f *File) buildSpans() {
	spans := make([]span, 0, len(f.Segments))
	for _, s := range f.Segments {
		if s.MemSize == 0 {
			continue
		}
		stored := s.PAddr + min(s.FileSize, s.MemSize)
		avail := s.PAddr
		if s.Offset < uint64(f.size) {
			avail += min(s.FileSize, s.MemSize, uint64(f.size)-s.Offset)
		}
		sp := span{start: s.PAddr, end: s.PAddr + s.MemSize, avail: avail, stored: stored, base: s.PAddr, offset: s.Offset}
		if n := len(spans); n > 0 && sp.start < spans[n-1].end {
			prev := spans[n-1].end
			if sp.end <= prev {
				continue
			}
			sp.start = prev
			sp.stored = max(sp.stored, prev)
			sp.avail = max(sp.avail, prev)
		}
		spans = append(spans, sp)
	}
	f.spans = spans
}

func (f *File) readNotes(segs []Segment) error {
	var total uint64
	for i, s := range segs {
		want := s.FileSize
		if s.Offset >= uint64(f.size) {
			if want > 0 {
				f.warnf("PT_NOTE at file offset %#x lies past the end of the %d-byte file; its notes are lost", s.Offset, f.size)
			}
			continue
		}
		have := min(want, uint64(f.size)-s.Offset)
		if total+have > MaxNoteBytes {
			return formatErr(int64(s.Offset), "PT_NOTE data of %d bytes exceeds the limit of %d", total+have, MaxNoteBytes)
		}
		total += have
		buf := make([]byte, have)
		if err := readFull(f.r, buf, int64(s.Offset)); err != nil {
			return fmt.Errorf("elfcore: reading PT_NOTE %d at %#x: %w", i, s.Offset, err)
		}
		notes, err := ParseNotes(buf, f.ByteOrder)
		f.Notes = append(f.Notes, notes...)
		if have < want {
			f.warnf("PT_NOTE at file offset %#x: file truncated: %d of %d bytes present", s.Offset, have, want)
			continue // a cut note is expected; keep the ones before it
		}
		// A damaged note hides the notes after it (each is found from
		// the one before): keep the notes before it, look for the next
		// header naming a note the kernel writes, and go on from there.
		// The memory segments are not affected: the dump stays readable.
		for err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				return err
			}
			at := resyncNote(buf, int(fe.Off)+4, f.ByteOrder)
			if at < 0 {
				f.warnf("PT_NOTE at file offset %#x: %s (at file offset %#x); the notes after it are lost", s.Offset, fe.Msg, int64(s.Offset)+fe.Off)
				break
			}
			f.warnf("PT_NOTE at file offset %#x: %s (at file offset %#x); notes found again at file offset %#x", s.Offset, fe.Msg, int64(s.Offset)+fe.Off, int64(s.Offset)+int64(at))
			var more []Note
			more, err = ParseNotes(buf[at:], f.ByteOrder)
			f.Notes = append(f.Notes, more...)
			if err != nil {
				if errors.As(err, &fe) {
					fe.Off += int64(at)
				}
			}
		}
	}
	return nil
}

// resyncNote finds, from offset from (rounded up to 4), the first note
// header naming a note Linux dumps carry ("CORE", "LINUX", "VMCOREINFO",
// "QEMU") with sizes that fit, or -1.
func resyncNote(buf []byte, from int, order binary.ByteOrder) int {
	for at := (from + 3) &^ 3; at+12 <= len(buf); at += 4 {
		namesz := int(order.Uint32(buf[at:]))
		descsz := uint64(order.Uint32(buf[at+4:]))
		if namesz < 4 || namesz > 12 || descsz > MaxNoteDescSize || at+12+namesz > len(buf) {
			continue
		}
		switch string(bytes.TrimRight(buf[at+12:at+12+namesz], "\x00")) {
		case "CORE", "LINUX", "VMCOREINFO", "QEMU":
			if uint64(at+12+(namesz+3)&^3)+descsz <= uint64(len(buf)) {
				return at
			}
		}
	}
	return -1
}

// VMCOREINFO returns the desc of the note named "VMCOREINFO", or nil if the
// dump has none.
func (f *File) VMCOREINFO() []byte {
	for _, n := range f.Notes {
		if n.Name == "VMCOREINFO" {
			return n.Desc
		}
	}
	return nil
}
