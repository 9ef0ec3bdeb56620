package kdumpfmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/vmcoretools/vmcore/kdumpfmt/internal/lzo1x"
	"github.com/vmcoretools/vmcore/physmem"
)

// Compression selects how the writer compresses pages.
type Compression int

const (
	None Compression = iota
	Zlib
	LZO
	Snappy
	Zstd
)

var compressionNames = [...]string{"none", "zlib", "lzo", "snappy", "zstd"}

func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// ParseCompression turns "none", "zlib", "lzo", "snappy" or "zstd" into a
// Compression.
func ParseCompression(name string) (Compression, error) {
	for i, n := range compressionNames {
		if strings.EqualFold(name, n) {
			return Compression(i), nil
		}
	}
	return 0, fmt.Errorf("kdumpfmt: unknown compression %q (want none, zlib, lzo, snappy or zstd)", name)
}

func (c Compression) flag() uint32 {
	return [...]uint32{0, CompressZlib, CompressLZO, CompressSnappy, CompressZstd}[c]
}

// Source describes a dump to write: the header fields, which frames are
// RAM and which are to be dumped, and where the pages come from. Any reader
// can fill one; FromFile makes one from a kdump File.
type Source struct {
	Utsname                     Utsname
	TimestampSec, TimestampUsec int64
	NrCPUs                      int32
	CurrentCPU                  uint32
	// Status bits to keep (StatusExcludedVmemmap); the writer sets the
	// compression and StatusIncomplete bits itself.
	Status    uint32
	PhysBase  uint64
	DumpLevel int32 // makedumpfile -d value; bit 1 shares one zero page
	MaxPFN    uint64
	PageSize  int
	ByteOrder binary.ByteOrder // nil means little-endian
	Layout    Layout           // Layout64 unless the dumped machine is 32-bit

	// InRAM and Dumpable give the two bitmaps. Dumpable is asked only for
	// frames in RAM.
	InRAM    func(pfn uint64) bool
	Dumpable func(pfn uint64) bool
	// ReadPage reads a dumpable page into dst (PageSize bytes). A
	// *physmem.Error of kind Lost writes the page as lost and marks the
	// output incomplete; any other error stops the writer.
	ReadPage func(pfn uint64, dst []byte) error

	Notes      []byte // raw ELF notes (may include the VMCOREINFO note)
	VMCOREINFO []byte
	EraseInfo  []byte
}

// WriteOptions tunes the writer.
type WriteOptions struct {
	Compression Compression
}

// FromFile describes f as a Source, to re-compress it or change its form.
// Lost pages of f stay lost in the copy.
func FromFile(f *File) *Source {
	h, s := &f.Header, &f.SubHeader
	return &Source{
		Utsname:       h.Utsname,
		TimestampSec:  h.TimestampSec,
		TimestampUsec: h.TimestampUsec,
		NrCPUs:        h.NrCPUs,
		CurrentCPU:    h.CurrentCPU,
		Status:        h.Status &^ (compressMask | StatusIncomplete),
		PhysBase:      s.PhysBase,
		DumpLevel:     s.DumpLevel,
		MaxPFN:        f.MaxPFN(),
		PageSize:      f.PageSize(),
		ByteOrder:     h.ByteOrder,
		Layout:        h.Layout,
		InRAM:         f.InRAM,
		Dumpable:      f.Dumpable,
		ReadPage:      f.ReadPage,
		Notes:         f.Notes(),
		VMCOREINFO:    f.VMCOREINFO(),
		EraseInfo:     f.EraseInfo(),
	}
}

// pageCompressor compresses one page with a chosen method.
type pageCompressor struct {
	method Compression
	buf    bytes.Buffer
	zw     *zlib.Writer
	ze     *zstd.Encoder
	lz     lzo1x.Compressor
	out    []byte
}

func newPageCompressor(c Compression, pageSize int) (*pageCompressor, error) {
	pc := &pageCompressor{method: c, out: make([]byte, 0, lzo1x.MaxCompressedLen(pageSize)+snappy.MaxEncodedLen(pageSize))}
	var err error
	switch c {
	case None, LZO, Snappy:
	case Zlib:
		// makedumpfile uses Z_BEST_SPEED.
		pc.zw, err = zlib.NewWriterLevel(&pc.buf, zlib.BestSpeed)
	case Zstd:
		pc.ze, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1<<17))
	default:
		err = fmt.Errorf("kdumpfmt: unknown compression %v", c)
	}
	return pc, err
}

// compress returns the compressed page, or nil when compression is off or
// does not shrink the page (which is then stored raw, as makedumpfile does).
func (pc *pageCompressor) compress(page []byte) ([]byte, error) {
	var out []byte
	switch pc.method {
	case None:
		return nil, nil
	case Zlib:
		pc.buf.Reset()
		pc.zw.Reset(&pc.buf)
		if _, err := pc.zw.Write(page); err != nil {
			return nil, err
		}
		if err := pc.zw.Close(); err != nil {
			return nil, err
		}
		out = pc.buf.Bytes()
	case LZO:
		out = pc.lz.Compress(pc.out, page)
	case Snappy:
		out = snappy.Encode(pc.out[:cap(pc.out)], page)
	case Zstd:
		out = pc.ze.EncodeAll(page, pc.out[:0])
	}
	if len(out) >= len(page) {
		return nil, nil
	}
	return out, nil
}

func (pc *pageCompressor) close() {
	if pc.ze != nil {
		pc.ze.Close()
	}
}

// Write writes src as a version-6 kdump file through w. Lost pages of the
// source are written as lost (descriptor offset 0) and the header is then
// rewritten with StatusIncomplete.
func Write(w io.WriterAt, src *Source, opt WriteOptions) error {
	if src.PageSize < minBlockSize || src.PageSize > maxBlockSize || src.PageSize&(src.PageSize-1) != 0 {
		return fmt.Errorf("kdumpfmt: Write: page size %d is not a power of two in [%d, %d]", src.PageSize, minBlockSize, maxBlockSize)
	}
	if src.InRAM == nil || src.Dumpable == nil || src.ReadPage == nil {
		return errors.New("kdumpfmt: Write: Source needs InRAM, Dumpable and ReadPage")
	}
	if src.MaxPFN == 0 {
		return errors.New("kdumpfmt: Write: Source has no pages (MaxPFN 0)")
	}
	if src.Layout != Layout64 && src.MaxPFN > 1<<32 {
		return errors.New("kdumpfmt: Write: a 32-bit layout cannot describe more than 2^32 pages")
	}
	order := src.ByteOrder
	if order == nil {
		order = binary.LittleEndian
	}
	pc, err := newPageCompressor(opt.Compression, src.PageSize)
	if err != nil {
		return err
	}
	defer pc.close()
	bs := int64(src.PageSize)

	h := Header{
		Signature:     SignatureKdump,
		Version:       LatestVersion,
		Utsname:       src.Utsname,
		TimestampSec:  src.TimestampSec,
		TimestampUsec: src.TimestampUsec,
		Status:        src.Status&^(compressMask|StatusIncomplete) | opt.Compression.flag(),
		BlockSize:     int32(bs),
		MaxMapNr:      uint32(min(src.MaxPFN, 0xffffffff)),
		CurrentCPU:    src.CurrentCPU,
		NrCPUs:        src.NrCPUs,
		ByteOrder:     order,
		Layout:        src.Layout,
	}

	// Sub-header block(s): the struct, then the notes, then VMCOREINFO
	// unless the notes already hold it (makedumpfile points into the note).
	subSize := int64(src.Layout.sub().size)
	s := SubHeader{PhysBase: src.PhysBase, DumpLevel: src.DumpLevel, MaxMapNr64: src.MaxPFN}
	area := make([]byte, subSize, subSize+int64(len(src.Notes)+len(src.VMCOREINFO)))
	if len(src.Notes) > 0 {
		s.OffsetNote, s.SizeNote = uint64(bs+int64(len(area))), uint64(len(src.Notes))
		area = append(area, src.Notes...)
	}
	if len(src.VMCOREINFO) > 0 {
		if i := bytes.Index(src.Notes, src.VMCOREINFO); i >= 0 {
			s.OffsetVmcoreinfo = s.OffsetNote + uint64(i)
		} else {
			s.OffsetVmcoreinfo = uint64(bs + int64(len(area)))
			area = append(area, src.VMCOREINFO...)
		}
		s.SizeVmcoreinfo = uint64(len(src.VMCOREINFO))
	}
	h.SubHdrSize = int32((int64(len(area)) + bs - 1) / bs)

	// Bitmaps.
	mapBytes := int64((src.MaxPFN + 7) / 8)
	mapBlocks := (mapBytes + bs - 1) / bs
	h.BitmapBlocks = uint32(2 * mapBlocks)
	ram := make([]byte, mapBlocks*bs)
	dump := make([]byte, mapBlocks*bs)
	var ndump int64
	for pfn := uint64(0); pfn < src.MaxPFN; pfn++ {
		if !src.InRAM(pfn) {
			continue
		}
		ram[pfn/8] |= 1 << (pfn % 8)
		if src.Dumpable(pfn) {
			dump[pfn/8] |= 1 << (pfn % 8)
			ndump++
		}
	}
	bitmapOff := (1 + int64(h.SubHdrSize)) * bs
	pdOff := bitmapOff + int64(h.BitmapBlocks)*bs
	dataOff := pdOff + ndump*pageDescSize

	// The header goes first, so that readers of a flattened stream (which
	// look for the record at offset 0 early) find it; it is written again
	// at the end if pages were lost.
	head := make([]byte, bs)
	encodeHeader(&h, head)
	if _, err := w.WriteAt(head, 0); err != nil {
		return err
	}

	// Pages and descriptors, buffered into large writes.
	out := &chunkWriter{w: w}
	descs := &chunkWriter{w: w, pos: pdOff}
	out.pos = dataOff
	var zeroDesc pageDesc
	shareZero := src.DumpLevel&1 != 0
	if shareZero {
		zeroDesc = pageDesc{Offset: uint64(dataOff), Size: uint32(bs)}
		if err := out.write(make([]byte, bs)); err != nil {
			return err
		}
	}
	page := make([]byte, bs)
	var descBuf [pageDescSize]byte
	lost := false
	for pfn := uint64(0); pfn < src.MaxPFN; pfn++ {
		if dump[pfn/8]&(1<<(pfn%8)) == 0 {
			continue
		}
		var d pageDesc
		err := src.ReadPage(pfn, page)
		switch {
		case errors.Is(err, physmem.ErrLost):
			lost = true // offset 0: never written
		case err != nil:
			return fmt.Errorf("kdumpfmt: Write: reading page %#x: %w", pfn, err)
		case shareZero && isZero(page):
			d = zeroDesc
		default:
			comp, err := pc.compress(page)
			if err != nil {
				return fmt.Errorf("kdumpfmt: Write: compressing page %#x: %w", pfn, err)
			}
			d = pageDesc{Offset: uint64(out.pos + int64(len(out.buf))), Size: uint32(bs)}
			if comp != nil {
				d.Size, d.Flags = uint32(len(comp)), opt.Compression.flag()
				err = out.write(comp)
			} else {
				err = out.write(page)
			}
			if err != nil {
				return err
			}
		}
		encodePageDesc(descBuf[:], order, d)
		if err := descs.write(descBuf[:]); err != nil {
			return err
		}
	}
	if err := descs.flush(); err != nil {
		return err
	}
	if len(src.EraseInfo) > 0 {
		s.OffsetEraseinfo, s.SizeEraseinfo = uint64(out.pos+int64(len(out.buf))), uint64(len(src.EraseInfo))
		if err := out.write(src.EraseInfo); err != nil {
			return err
		}
	}
	if err := out.flush(); err != nil {
		return err
	}

	if _, err := w.WriteAt(ram, bitmapOff); err != nil {
		return err
	}
	if _, err := w.WriteAt(dump, bitmapOff+mapBlocks*bs); err != nil {
		return err
	}
	encodeSubHeader(&h, &s, area)
	area = append(area, make([]byte, int64(h.SubHdrSize)*bs-int64(len(area)))...)
	if _, err := w.WriteAt(area, bs); err != nil {
		return err
	}
	if lost {
		h.Status |= StatusIncomplete
		encodeHeader(&h, head)
		if _, err := w.WriteAt(head, 0); err != nil {
			return err
		}
	}
	return nil
}

func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// chunkWriter gathers sequential writes into large WriteAt calls.
type chunkWriter struct {
	w   io.WriterAt
	pos int64 // file offset of buf[0]
	buf []byte
}

const writeChunk = 1 << 20

func (c *chunkWriter) write(p []byte) error {
	if c.buf == nil {
		c.buf = make([]byte, 0, writeChunk)
	}
	if len(c.buf)+len(p) > cap(c.buf) {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.buf = append(c.buf, p...)
	return nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if _, err := c.w.WriteAt(c.buf, c.pos); err != nil {
		return err
	}
	c.pos += int64(len(c.buf))
	c.buf = c.buf[:0]
	return nil
}

// FlatWriter turns WriteAt calls into the records of a flattened dump
// (makedumpfile -F), so that a dump can be written to a pipe. Close writes
// the end record.
type FlatWriter struct {
	w       io.Writer
	started bool
	err     error
}

// NewFlatWriter returns a FlatWriter writing to w.
func NewFlatWriter(w io.Writer) *FlatWriter { return &FlatWriter{w: w} }

func (f *FlatWriter) start() {
	if f.started {
		return
	}
	f.started = true
	head := make([]byte, flatHeaderSize)
	copy(head, flatSignature)
	binary.BigEndian.PutUint64(head[16:], flatType)
	binary.BigEndian.PutUint64(head[24:], flatVersion)
	_, f.err = f.w.Write(head)
}

// WriteAt writes p as records for offset off of the rearranged file.
func (f *FlatWriter) WriteAt(p []byte, off int64) (int, error) {
	f.start()
	n := 0
	for f.err == nil && n < len(p) {
		k := min(len(p)-n, writeChunk)
		var rec [flatRecordSize]byte
		binary.BigEndian.PutUint64(rec[0:], uint64(off+int64(n)))
		binary.BigEndian.PutUint64(rec[8:], uint64(k))
		if _, f.err = f.w.Write(rec[:]); f.err != nil {
			break
		}
		if _, f.err = f.w.Write(p[n : n+k]); f.err != nil {
			break
		}
		n += k
	}
	return n, f.err
}

// Close writes the end record.
func (f *FlatWriter) Close() error {
	f.start()
	if f.err != nil {
		return f.err
	}
	var rec [flatRecordSize]byte
	for i := range rec {
		rec[i] = 0xff
	}
	_, f.err = f.w.Write(rec[:])
	if f.err == nil {
		f.err = errors.New("kdumpfmt: FlatWriter is closed")
		return nil
	}
	return f.err
}

// WriteFlattened writes src as a flattened dump (makedumpfile -F) to w,
// which need not be seekable.
func WriteFlattened(w io.Writer, src *Source, opt WriteOptions) error {
	fw := NewFlatWriter(w)
	if err := Write(fw, src, opt); err != nil {
		return err
	}
	return fw.Close()
}
