package kdumpfmt

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// fuzzSmallDump is a small valid dump (512-byte pages) for seeds.
func fuzzSmallDump(layout string, be bool, codecs ...string) *tDump {
	d := &tDump{version: 6, layout: layout, bigEndian: be, pageSize: 512, maxPFN: 40, dumpLevel: 1, machine: "x86_64"}
	for pfn := uint64(0); pfn < 40; pfn++ {
		if pfn >= 30 && pfn < 33 {
			continue
		}
		d.ram = append(d.ram, pfn)
		if pfn%4 == 1 || len(d.pages) >= len(codecs) {
			continue
		}
		codec := codecs[len(d.pages)]
		data := bytes.Repeat([]byte{byte(pfn)}, 512)
		if codec == "zero" {
			data = make([]byte, 512)
		}
		d.pages = append(d.pages, tPage{pfn: pfn, data: data, codec: codec})
	}
	d.notes = testELFNote(d.order(), "VMCOREINFO", 0, []byte("PAGESIZE=512\n"))
	d.vmcoreinfo = []byte("PAGESIZE=512\n")
	d.eraseinfo = []byte("erase\n")
	return d
}

// exercise reads everything a caller could ask of an opened dump.
func exercise(f *File) {
	buf := make([]byte, f.PageSize())
	limit := min(f.MaxPFN(), 4096)
	for pfn := uint64(0); pfn < limit; pfn++ {
		f.ReadPage(pfn, buf)
	}
	f.ReadAt(buf[:100], int64(f.PageSize())-50)
	f.Stats()
	f.Notes()
	f.VMCOREINFO()
}

// FuzzHeader opens arbitrary bytes as a dump: header, sub-header, bitmaps,
// descriptors and pages, plain or flattened.
func FuzzHeader(f *testing.F) {
	f.Add(fuzzSmallDump("64", false, "raw", "zlib", "zero").build())
	f.Add(fuzzSmallDump("32pack", true, "lzo", "snappy").build())
	f.Add(fuzzSmallDump("32pad", false, "zstd", "raw").build())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		exercise(file)
	})
}

// FuzzBitmap keeps a valid header and sub-header and fuzzes everything
// after them: both bitmaps, the page descriptors and the page data.
func FuzzBitmap(f *testing.F) {
	base := fuzzSmallDump("64", false, "raw", "zlib", "lzo", "snappy", "zstd", "zero").build()
	const tailAt = 2 * 512 // header block + one sub-header block
	f.Add(base[tailAt:])
	f.Add(fuzzSmallDump("64", false, "zero", "zero", "raw").build()[tailAt:])
	f.Fuzz(func(t *testing.T, tail []byte) {
		data := append(append([]byte(nil), base[:tailAt]...), tail...)
		file, err := NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		exercise(file)
	})
}

// FuzzFlattened fuzzes the records of a flattened stream.
func FuzzFlattened(f *testing.F) {
	f.Add(tFlatten(fuzzSmallDump("64", false, "raw", "zlib").build(), 1)[flatHeaderSize:])
	rec := make([]byte, 16)
	binary.BigEndian.PutUint64(rec, 10)
	binary.BigEndian.PutUint64(rec[8:], 4)
	f.Add(append(append(rec, "abcd"...), bytes.Repeat([]byte{0xff}, 16)...))
	head := make([]byte, flatHeaderSize)
	copy(head, flatSignature)
	binary.BigEndian.PutUint64(head[16:], 1)
	binary.BigEndian.PutUint64(head[24:], 1)
	f.Fuzz(func(t *testing.T, records []byte) {
		data := append(append([]byte(nil), head...), records...)
		fr, err := newFlatReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		// The rearranged view never yields more than the file holds.
		buf := make([]byte, min(fr.Size(), 1<<16))
		fr.ReadAt(buf, 0)
		fr.ReadAt(buf[:min(len(buf), 100)], max(0, fr.Size()-50))
		if file, err := NewFile(bytes.NewReader(data), int64(len(data))); err == nil {
			exercise(file)
		}
	})
}
