package kdumpfmt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Signatures at offset 0 of a dump (and of the rearranged data of a
// flattened one).
const (
	SignatureKdump    = "KDUMP   " // makedumpfile's compressed format
	SignatureDiskdump = "DISKDUMP" // the older diskdump format
)

// Bits of Header.Status and of a page descriptor's flags. makedumpfile
// uses the same values for both: the status records the compression chosen
// for the dump, a descriptor the one used for its page (none when a page
// did not shrink).
const (
	CompressZlib   = 0x1
	CompressLZO    = 0x2
	CompressSnappy = 0x4
	CompressZstd   = 0x20

	// StatusIncomplete marks a dump whose writer stopped early (disk full):
	// descriptors past the failure are zero and their pages lost.
	StatusIncomplete = 0x8
	// StatusExcludedVmemmap marks a dump whose vmemmap pages of excluded
	// memory were excluded too (makedumpfile -e).
	StatusExcludedVmemmap = 0x10

	compressMask = CompressZlib | CompressLZO | CompressSnappy | CompressZstd
)

// LatestVersion is the header version this package writes and the newest it
// knows: version 6 added 64-bit PFN fields to the sub-header.
const LatestVersion = 6

// Layout is the binary layout of the header and sub-header, which depends on
// the word size and alignment rules of the machine that was dumped.
type Layout int

const (
	Layout64       Layout = iota // 64-bit machines (x86_64, arm64, ppc64, s390x...)
	Layout32Packed               // 32-bit, 64-bit fields aligned to 4 (IA-32)
	Layout32Padded               // 32-bit, 64-bit fields aligned to 8 (AArch32)
)

func (l Layout) String() string {
	switch l {
	case Layout64:
		return "64-bit"
	case Layout32Packed:
		return "32-bit packed"
	case Layout32Padded:
		return "32-bit padded"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Utsname is the kernel's struct new_utsname, copied into the header.
type Utsname struct {
	Sysname, Nodename, Release, Version, Machine, DomainName string
}

const utsFieldLen = 65

// Header is the dump's first block (struct disk_dump_header).
type Header struct {
	Signature string // SignatureKdump or SignatureDiskdump
	Version   int32  // header_version, 0..6
	Utsname   Utsname
	// TimestampSec and TimestampUsec are the capture time (struct timeval).
	TimestampSec, TimestampUsec int64
	Status                      uint32 // Compress* and Status* bits
	BlockSize                   int32  // block and page size in bytes
	SubHdrSize                  int32  // blocks of sub-header (with notes)
	BitmapBlocks                uint32 // blocks of both bitmaps together
	MaxMapNr                    uint32 // number of page frames, truncated to 32 bits
	TotalRAMBlocks              uint32
	DeviceBlocks                uint32
	WrittenBlocks               uint32
	CurrentCPU                  uint32
	NrCPUs                      int32

	ByteOrder binary.ByteOrder // byte order of the dumped machine
	Layout    Layout
}

// Timestamp returns the capture time.
func (h *Header) Timestamp() time.Time {
	return time.Unix(h.TimestampSec, h.TimestampUsec*1000).UTC()
}

// SubHeader is struct kdump_sub_header. Fields a header version predates
// are zero.
type SubHeader struct {
	PhysBase         uint64
	DumpLevel        int32  // v1+
	Split            int32  // v2+: nonzero in a file of a split set
	StartPFN         uint64 // v2+, obsolete 32-bit form on 32-bit layouts
	EndPFN           uint64 // v2+
	OffsetVmcoreinfo uint64 // v3+
	SizeVmcoreinfo   uint64
	OffsetNote       uint64 // v4+
	SizeNote         uint64
	OffsetEraseinfo  uint64 // v5+
	SizeEraseinfo    uint64
	StartPFN64       uint64 // v6+
	EndPFN64         uint64
	MaxMapNr64       uint64
}

// hdrLayout holds the offsets of struct disk_dump_header's fields after the
// utsname, which move with the size and alignment of struct timeval.
type hdrLayout struct {
	tvSec, tvUsec, tvSize                                 int
	status, blockSize, subHdrSize, bitmapBlocks, maxMapNr int
	totalRAM, device, written, currentCPU, nrCPUs         int
	size                                                  int
}

var (
	hdr64 = hdrLayout{408, 416, 8, 424, 428, 432, 436, 440, 444, 448, 452, 456, 460, 464}
	hdr32 = hdrLayout{404, 408, 4, 412, 416, 420, 424, 428, 432, 436, 440, 444, 448, 452}
)

// subLayout holds the offsets of struct kdump_sub_header's fields. word is
// the size of unsigned long (phys_base, start_pfn, end_pfn, size_*); the
// off_t offsets are always 8 bytes.
type subLayout struct {
	word                                           int
	physBase, dumpLevel, split, startPFN, endPFN   int
	offVmci, sizeVmci, offNote, sizeNote, offErase int
	sizeErase, start64, end64, max64, size         int
}

var (
	sub64       = subLayout{8, 0, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104}
	sub32Packed = subLayout{4, 0, 4, 8, 12, 16, 20, 28, 32, 40, 44, 52, 56, 64, 72, 80}
	sub32Padded = subLayout{4, 0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96}
)

func (l Layout) hdr() hdrLayout {
	if l == Layout64 {
		return hdr64
	}
	return hdr32
}

func (l Layout) sub() subLayout {
	switch l {
	case Layout32Packed:
		return sub32Packed
	case Layout32Padded:
		return sub32Padded
	}
	return sub64
}

// headerReadSize is enough bytes to decode the header in any layout.
const headerReadSize = 464

// Page sizes outside these bounds are corrupt headers, not real machines.
const (
	minBlockSize = 512
	maxBlockSize = 1 << 20
)

// machineIs32 guesses the word size from utsname.machine; ok is false when
// the name says nothing.
func machineIs32(machine string) (is32, ok bool) {
	m := strings.ToLower(machine)
	switch {
	case m == "":
		return false, false
	case strings.HasSuffix(m, "64") || m == "s390x" || m == "alpha" || strings.HasPrefix(m, "aarch64") ||
		strings.HasPrefix(m, "ppc64") || strings.HasPrefix(m, "loongarch64") || strings.HasPrefix(m, "mips64") ||
		strings.HasPrefix(m, "riscv64") || m == "sparc64":
		return false, true
	case strings.HasPrefix(m, "i") && strings.HasSuffix(m, "86"), strings.HasPrefix(m, "arm"),
		m == "ppc", m == "mips", m == "s390", m == "riscv32", m == "sh4":
		return true, true
	}
	return false, false
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// decodeHeader parses struct disk_dump_header. The layout and byte order
// are not recorded in the file: like libkdumpfile, try each and keep the
// first whose block size and bitmap size make sense, trying the word size
// that utsname.machine names first.
func decodeHeader(buf []byte) (Header, error) {
	var h Header
	if len(buf) < 8 {
		return h, fmt.Errorf("kdumpfmt: header truncated to %d bytes", len(buf))
	}
	sig := string(buf[:8])
	if sig != SignatureKdump && sig != SignatureDiskdump {
		return h, fmt.Errorf("kdumpfmt: no KDUMP or DISKDUMP signature (found %q)", buf[:8])
	}
	if len(buf) < headerReadSize {
		return h, fmt.Errorf("kdumpfmt: header truncated to %d bytes (need %d)", len(buf), headerReadSize)
	}
	h.Signature = sig
	uts := buf[12 : 12+6*utsFieldLen]
	f := func(i int) string { return cstring(uts[i*utsFieldLen : (i+1)*utsFieldLen]) }
	h.Utsname = Utsname{f(0), f(1), f(2), f(3), f(4), f(5)}

	layouts := []Layout{Layout64, Layout32Packed}
	if is32, ok := machineIs32(h.Utsname.Machine); ok && is32 {
		layouts = []Layout{Layout32Packed, Layout64}
	}
	var firstErr error
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, l := range layouts {
			err := h.decodeFields(buf, l, order)
			if err == nil {
				return h, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return Header{}, firstErr
}

func (h *Header) decodeFields(buf []byte, l Layout, order binary.ByteOrder) error {
	o := l.hdr()
	u32 := func(off int) uint32 { return order.Uint32(buf[off:]) }
	bs := int32(u32(o.blockSize))
	if bs < minBlockSize || bs > maxBlockSize || bs&(bs-1) != 0 {
		return fmt.Errorf("kdumpfmt: header: implausible block size %d", bs)
	}
	bitmapBlocks := u32(o.bitmapBlocks)
	maxMapNr := u32(o.maxMapNr)
	if uint64(bitmapBlocks)*uint64(bs)*8 < uint64(maxMapNr) {
		return fmt.Errorf("kdumpfmt: header: bitmap of %d blocks cannot cover %d pages", bitmapBlocks, maxMapNr)
	}
	ver := int32(order.Uint32(buf[8:]))
	if ver < 0 || ver > 1000 {
		return fmt.Errorf("kdumpfmt: header: implausible version %d", ver)
	}
	sub := int32(u32(o.subHdrSize))
	if sub < 0 {
		return fmt.Errorf("kdumpfmt: header: negative sub-header size %d", sub)
	}
	h.Version = ver
	if o.tvSize == 8 {
		h.TimestampSec = int64(order.Uint64(buf[o.tvSec:]))
		h.TimestampUsec = int64(order.Uint64(buf[o.tvUsec:]))
	} else {
		h.TimestampSec = int64(int32(u32(o.tvSec)))
		h.TimestampUsec = int64(int32(u32(o.tvUsec)))
	}
	h.Status = u32(o.status)
	h.BlockSize = bs
	h.SubHdrSize = sub
	h.BitmapBlocks = bitmapBlocks
	h.MaxMapNr = maxMapNr
	h.TotalRAMBlocks = u32(o.totalRAM)
	h.DeviceBlocks = u32(o.device)
	h.WrittenBlocks = u32(o.written)
	h.CurrentCPU = u32(o.currentCPU)
	h.NrCPUs = int32(u32(o.nrCPUs))
	h.ByteOrder = order
	h.Layout = l
	return nil
}

// encodeHeader writes h into a block-sized buffer.
func encodeHeader(h *Header, buf []byte) {
	order := h.ByteOrder
	o := h.Layout.hdr()
	copy(buf[0:8], h.Signature)
	order.PutUint32(buf[8:], uint32(h.Version))
	u := h.Utsname
	for i, s := range []string{u.Sysname, u.Nodename, u.Release, u.Version, u.Machine, u.DomainName} {
		field := buf[12+i*utsFieldLen : 12+(i+1)*utsFieldLen]
		copy(field[:utsFieldLen-1], s)
	}
	if o.tvSize == 8 {
		order.PutUint64(buf[o.tvSec:], uint64(h.TimestampSec))
		order.PutUint64(buf[o.tvUsec:], uint64(h.TimestampUsec))
	} else {
		order.PutUint32(buf[o.tvSec:], uint32(h.TimestampSec))
		order.PutUint32(buf[o.tvUsec:], uint32(h.TimestampUsec))
	}
	order.PutUint32(buf[o.status:], h.Status)
	order.PutUint32(buf[o.blockSize:], uint32(h.BlockSize))
	order.PutUint32(buf[o.subHdrSize:], uint32(h.SubHdrSize))
	order.PutUint32(buf[o.bitmapBlocks:], h.BitmapBlocks)
	order.PutUint32(buf[o.maxMapNr:], h.MaxMapNr)
	order.PutUint32(buf[o.totalRAM:], h.TotalRAMBlocks)
	order.PutUint32(buf[o.device:], h.DeviceBlocks)
	order.PutUint32(buf[o.written:], h.WrittenBlocks)
	order.PutUint32(buf[o.currentCPU:], h.CurrentCPU)
	order.PutUint32(buf[o.nrCPUs:], uint32(h.NrCPUs))
}

// decodeSubHeader parses struct kdump_sub_header at the start of buf, which
// holds the whole sub-header area (sub_hdr_size blocks, or less if the file
// is shorter). For the 32-bit layouts it chooses between packed and padded
// as libkdumpfile does: the packed reading is kept when its VMCOREINFO
// offset is absent or points inside the sub-header area.
func decodeSubHeader(h *Header, buf []byte) (SubHeader, error) {
	var s SubHeader
	if h.Version < 1 {
		return s, nil
	}
	if h.Layout != Layout64 && h.Version >= 3 {
		h.Layout = Layout32Packed
		o := sub32Packed
		if len(buf) >= o.sizeVmci+4 {
			off := h.ByteOrder.Uint64(buf[o.offVmci:])
			size := uint64(h.ByteOrder.Uint32(buf[o.sizeVmci:]))
			payload := uint64(h.BlockSize) * (1 + uint64(h.SubHdrSize))
			if !(off == 0 && size == 0) && !(off > uint64(h.BlockSize) && off+size >= off && off+size <= payload) {
				h.Layout = Layout32Padded
			}
		}
	}
	o := h.Layout.sub()
	need := o.dumpLevel + 4
	switch {
	case h.Version >= 6:
		need = o.size
	case h.Version >= 5:
		need = o.sizeErase + o.word
	case h.Version >= 4:
		need = o.sizeNote + o.word
	case h.Version >= 3:
		need = o.sizeVmci + o.word
	case h.Version >= 2:
		need = o.endPFN + o.word
	}
	if len(buf) < need {
		return s, fmt.Errorf("kdumpfmt: sub-header truncated: %d bytes, version %d needs %d", len(buf), h.Version, need)
	}
	order := h.ByteOrder
	word := func(off int) uint64 {
		if o.word == 8 {
			return order.Uint64(buf[off:])
		}
		return uint64(order.Uint32(buf[off:]))
	}
	u64 := func(off int) uint64 { return order.Uint64(buf[off:]) }
	s.PhysBase = word(o.physBase)
	s.DumpLevel = int32(order.Uint32(buf[o.dumpLevel:]))
	if h.Version >= 2 {
		s.Split = int32(order.Uint32(buf[o.split:]))
		s.StartPFN = word(o.startPFN)
		s.EndPFN = word(o.endPFN)
	}
	if h.Version >= 3 {
		s.OffsetVmcoreinfo = u64(o.offVmci)
		s.SizeVmcoreinfo = word(o.sizeVmci)
	}
	if h.Version >= 4 {
		s.OffsetNote = u64(o.offNote)
		s.SizeNote = word(o.sizeNote)
	}
	if h.Version >= 5 {
		s.OffsetEraseinfo = u64(o.offErase)
		s.SizeEraseinfo = word(o.sizeErase)
	}
	if h.Version >= 6 {
		s.StartPFN64 = u64(o.start64)
		s.EndPFN64 = u64(o.end64)
		s.MaxMapNr64 = u64(o.max64)
	}
	return s, nil
}

// encodeSubHeader writes s in the layout of h into buf (at least the
// layout's size).
func encodeSubHeader(h *Header, s *SubHeader, buf []byte) {
	o := h.Layout.sub()
	order := h.ByteOrder
	word := func(off int, v uint64) {
		if o.word == 8 {
			order.PutUint64(buf[off:], v)
		} else {
			order.PutUint32(buf[off:], uint32(v))
		}
	}
	word(o.physBase, s.PhysBase)
	order.PutUint32(buf[o.dumpLevel:], uint32(s.DumpLevel))
	order.PutUint32(buf[o.split:], uint32(s.Split))
	word(o.startPFN, s.StartPFN)
	word(o.endPFN, s.EndPFN)
	order.PutUint64(buf[o.offVmci:], s.OffsetVmcoreinfo)
	word(o.sizeVmci, s.SizeVmcoreinfo)
	order.PutUint64(buf[o.offNote:], s.OffsetNote)
	word(o.sizeNote, s.SizeNote)
	order.PutUint64(buf[o.offErase:], s.OffsetEraseinfo)
	word(o.sizeErase, s.SizeEraseinfo)
	order.PutUint64(buf[o.start64:], s.StartPFN64)
	order.PutUint64(buf[o.end64:], s.EndPFN64)
	order.PutUint64(buf[o.max64:], s.MaxMapNr64)
}

// pageDesc is struct page_desc, 24 bytes in every layout.
type pageDesc struct {
	Offset    uint64
	Size      uint32
	Flags     uint32
	PageFlags uint64
}

const pageDescSize = 24

func decodePageDesc(b []byte, order binary.ByteOrder) pageDesc {
	return pageDesc{
		Offset:    order.Uint64(b[0:]),
		Size:      order.Uint32(b[8:]),
		Flags:     order.Uint32(b[12:]),
		PageFlags: order.Uint64(b[16:]),
	}
}

func encodePageDesc(b []byte, order binary.ByteOrder, d pageDesc) {
	order.PutUint64(b[0:], d.Offset)
	order.PutUint32(b[8:], d.Size)
	order.PutUint32(b[12:], d.Flags)
	order.PutUint64(b[16:], d.PageFlags)
}
