package kdumpfmt

// An independent, minimal builder of kdump files for hand-crafted cases.
// It spells out the on-disk offsets itself (from makedumpfile's
// diskdump_mod.h and libkdumpfile's diskdump.c) instead of using the
// package's encoders, so that a shared mistake cannot hide.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"math/rand/v2"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

type tPage struct {
	pfn   uint64
	data  []byte // page contents (nil: lost, written with offset 0)
	codec string // "raw", "zlib", "lzo", "snappy", "zstd", "zero" (shared zero page)
}

type tDump struct {
	sig          string // default "KDUMP   "
	version      int32
	layout       string // "64" (default), "32pack", "32pad"
	bigEndian    bool
	pageSize     int
	maxPFN       uint64
	ram          []uint64 // RAM pfns (1st bitmap)
	pages        []tPage  // dumpable pfns (2nd bitmap), ascending
	status       uint32
	dumpLevel    int32
	split        bool
	start, end   uint64
	singleBitmap bool // one bitmap used as both (old dumps)
	notes        []byte
	vmcoreinfo   []byte
	eraseinfo    []byte
	machine      string
	truncateTo   int // cut the file to this many bytes (0: keep)
}

func (d *tDump) order() binary.ByteOrder {
	if d.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func tCompress(codec string, page []byte) []byte {
	var b bytes.Buffer
	switch codec {
	case "zlib":
		w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
		w.Write(page)
		w.Close()
		return b.Bytes()
	case "lzo":
		// A literal-only LZO1X stream: valid, if not smaller.
		n := len(page)
		if n <= 238 {
			b.WriteByte(byte(17 + n))
		} else {
			b.WriteByte(0)
			t := n - 18
			for t > 255 {
				b.WriteByte(0)
				t -= 255
			}
			b.WriteByte(byte(t))
		}
		b.Write(page)
		b.Write([]byte{0x11, 0, 0})
		return b.Bytes()
	case "snappy":
		return snappy.Encode(nil, page)
	case "zstd":
		return tZstd.EncodeAll(page, nil)
	}
	panic("codec " + codec)
}

var tZstd, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))

var tCodecFlag = map[string]uint32{"raw": 0, "zero": 0, "zlib": 1, "lzo": 2, "snappy": 4, "zstd": 0x20}

func (d *tDump) build() []byte {
	o := d.order()
	bs := d.pageSize
	sig := d.sig
	if sig == "" {
		sig = "KDUMP   "
	}
	is32 := d.layout == "32pack" || d.layout == "32pad"

	// Header block.
	head := make([]byte, bs)
	copy(head, sig)
	o.PutUint32(head[8:], uint32(d.version))
	uts := []string{"Linux", "testhost", "6.1.0-test", "#1 SMP", d.machine, "(none)"}
	for i, s := range uts {
		copy(head[12+65*i:], s)
	}
	// After utsname (ends at 402): timeval padded to 408 (64-bit) or 404.
	p := 408
	if is32 {
		p = 404
		o.PutUint32(head[p:], 1700000000)
		o.PutUint32(head[p+4:], 123456)
		p += 8
	} else {
		o.PutUint64(head[p:], 1700000000)
		o.PutUint64(head[p+8:], 123456)
		p += 16
	}
	mapBytes := (d.maxPFN + 7) / 8
	mapBlocks := (int(mapBytes) + bs - 1) / bs
	bitmapBlocks := 2 * mapBlocks
	if d.singleBitmap {
		bitmapBlocks = mapBlocks
	}
	sub := make([]byte, 0, bs)
	subStructSize := map[string]int{"": 104, "64": 104, "32pack": 80, "32pad": 96}[d.layout]
	sub = append(sub, make([]byte, subStructSize)...)
	noteOff := bs + len(sub)
	sub = append(sub, d.notes...)
	vmciOff := 0
	if len(d.vmcoreinfo) > 0 {
		vmciOff = bs + len(sub)
		sub = append(sub, d.vmcoreinfo...)
	}
	subBlocks := (len(sub) + bs - 1) / bs
	fields := []uint32{d.status, uint32(bs), uint32(subBlocks), uint32(bitmapBlocks), uint32(min(d.maxPFN, 0xffffffff)), 0, 0, 0, 0, 3}
	for _, v := range fields {
		o.PutUint32(head[p:], v)
		p += 4
	}

	// Bitmaps.
	bm1 := make([]byte, mapBlocks*bs)
	bm2 := make([]byte, mapBlocks*bs)
	for _, pfn := range d.ram {
		bm1[pfn/8] |= 1 << (pfn % 8)
	}
	for _, pg := range d.pages {
		bm2[pg.pfn/8] |= 1 << (pg.pfn % 8)
	}
	bitmapOff := (1 + subBlocks) * bs
	pdOff := bitmapOff + bitmapBlocks*bs
	var descPages []tPage
	for _, pg := range d.pages {
		if !d.split || (pg.pfn >= d.start && pg.pfn < d.end) {
			descPages = append(descPages, pg)
		}
	}
	dataOff := pdOff + 24*len(descPages)
	var data []byte
	zeroOff := -1
	for _, pg := range descPages {
		if pg.codec == "zero" && pg.data != nil && zeroOff < 0 { // as makedumpfile: first in the data
			zeroOff = dataOff
			data = append(data, make([]byte, bs)...)
		}
	}
	descs := make([]byte, 24*len(descPages))
	for i, pg := range descPages {
		de := descs[24*i:]
		switch {
		case pg.data == nil: // lost: all zero
		case pg.codec == "zero":
			o.PutUint64(de, uint64(zeroOff))
			o.PutUint32(de[8:], uint32(bs))
		default:
			stored := pg.data
			if pg.codec != "raw" {
				stored = tCompress(pg.codec, pg.data)
			}
			o.PutUint64(de, uint64(dataOff+len(data)))
			o.PutUint32(de[8:], uint32(len(stored)))
			o.PutUint32(de[12:], tCodecFlag[pg.codec])
			data = append(data, stored...)
		}
	}
	eraseOff := dataOff + len(data)

	// Sub-header struct.
	w := func(off int, v uint64, size int) {
		if size == 8 {
			o.PutUint64(sub[off:], v)
		} else {
			o.PutUint32(sub[off:], uint32(v))
		}
	}
	var splitv uint64
	if d.split {
		splitv = 1
	}
	type fld struct {
		off, size int
		v         uint64
	}
	var fl []fld
	switch d.layout {
	case "32pack":
		fl = []fld{{0, 4, 0x1000}, {4, 4, uint64(d.dumpLevel)}, {8, 4, splitv}, {12, 4, d.start}, {16, 4, d.end},
			{20, 8, uint64(vmciOff)}, {28, 4, uint64(len(d.vmcoreinfo))}, {32, 8, uint64(noteOff)}, {40, 4, uint64(len(d.notes))},
			{44, 8, uint64(eraseOff)}, {52, 4, uint64(len(d.eraseinfo))}, {56, 8, d.start}, {64, 8, d.end}, {72, 8, d.maxPFN}}
	case "32pad":
		fl = []fld{{0, 4, 0x1000}, {4, 4, uint64(d.dumpLevel)}, {8, 4, splitv}, {12, 4, d.start}, {16, 4, d.end},
			{24, 8, uint64(vmciOff)}, {32, 4, uint64(len(d.vmcoreinfo))}, {40, 8, uint64(noteOff)}, {48, 4, uint64(len(d.notes))},
			{56, 8, uint64(eraseOff)}, {64, 4, uint64(len(d.eraseinfo))}, {72, 8, d.start}, {80, 8, d.end}, {88, 8, d.maxPFN}}
	default:
		fl = []fld{{0, 8, 0x1000}, {8, 4, uint64(d.dumpLevel)}, {12, 4, splitv}, {16, 8, d.start}, {24, 8, d.end},
			{32, 8, uint64(vmciOff)}, {40, 8, uint64(len(d.vmcoreinfo))}, {48, 8, uint64(noteOff)}, {56, 8, uint64(len(d.notes))},
			{64, 8, uint64(eraseOff)}, {72, 8, uint64(len(d.eraseinfo))}, {80, 8, d.start}, {88, 8, d.end}, {96, 8, d.maxPFN}}
	}
	// Fields a version predates stay zero, as an old writer left them.
	minVer := []int32{1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 6}
	for i, f := range fl {
		if d.version >= minVer[i] {
			w(f.off, f.v, f.size)
		}
	}

	var out []byte
	out = append(out, head...)
	out = append(out, sub...)
	out = append(out, make([]byte, (1+subBlocks)*bs-len(out))...)
	out = append(out, bm1...)
	if !d.singleBitmap {
		out = append(out, bm2...)
	}
	out = append(out, descs...)
	out = append(out, data...)
	out = append(out, d.eraseinfo...)
	if d.truncateTo > 0 && d.truncateTo < len(out) {
		out = out[:d.truncateTo]
	}
	return out
}

// tFlatten turns a plain dump into a flattened stream whose records come in
// a shuffled order, some split in pieces, and one region first written
// with garbage and then overwritten (later records win).
func tFlatten(plain []byte, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	type rec struct {
		off  int
		data []byte
	}
	var recs []rec
	for off := 0; off < len(plain); {
		n := min(len(plain)-off, 1+rng.IntN(9000))
		recs = append(recs, rec{off, plain[off : off+n]})
		off += n
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	if len(plain) > 300 {
		garbage := bytes.Repeat([]byte{0xAA}, 200)
		recs = append([]rec{{100, garbage}}, recs...)
	}
	var out bytes.Buffer
	head := make([]byte, 4096)
	copy(head, "makedumpfile")
	binary.BigEndian.PutUint64(head[16:], 1)
	binary.BigEndian.PutUint64(head[24:], 1)
	out.Write(head)
	for _, r := range recs {
		var h [16]byte
		binary.BigEndian.PutUint64(h[0:], uint64(r.off))
		binary.BigEndian.PutUint64(h[8:], uint64(len(r.data)))
		out.Write(h[:])
		out.Write(r.data)
	}
	out.Write(bytes.Repeat([]byte{0xff}, 16))
	return out.Bytes()
}

// tPageData returns a deterministic page of text-like, compressible bytes
// that differs per pfn.
func tPageData(pfn uint64, size int) []byte {
	b := make([]byte, size)
	words := []string{"kernel ", "page ", "struct ", "task ", "0x", "ffff", "\n", "dump "}
	rng := rand.New(rand.NewPCG(pfn, 99))
	for i := 0; i < size; {
		i += copy(b[i:], words[rng.IntN(len(words))])
	}
	binary.LittleEndian.PutUint64(b, pfn)
	return b
}
