package printk

import (
	"encoding/binary"
	"fmt"
	"io"
	"testing"
)

// The fuzz targets start from a valid log of each layout and let the fuzzer
// overwrite bytes of its structures: the input is a list of patches, each
// [region:1][offset:2 LE][length:1][bytes...], where region picks one of
// the log's structures. That keeps inputs small while reaching every check
// of the walkers; Read must return without panicking, within bounds.

type region struct {
	addr uint64
	size int
}

// patched is test memory with patches applied over a base image, without
// copying the base.
type patched struct {
	base    *vmem
	overlay map[uint64][]byte
}

func (p *patched) ReadAt(b []byte, off int64) (int, error) {
	addr := uint64(off)
	for n := 0; n < len(b); {
		a := addr + uint64(n)
		pg, ok := p.overlay[a&^4095]
		if !ok {
			pg, ok = p.base.pages[a&^4095]
		}
		if !ok {
			return n, unreadable{a}
		}
		n += copy(b[n:], pg[a&4095:])
	}
	return len(b), nil
}

func applyPatches(base *vmem, regions []region, data []byte) io.ReaderAt {
	p := &patched{base: base, overlay: map[uint64][]byte{}}
	for len(data) >= 4 {
		r := regions[int(data[0])%len(regions)]
		off := int(binary.LittleEndian.Uint16(data[1:])) % r.size
		n := min(int(data[3]), len(data)-4)
		for i := 0; i < n; i++ {
			a := r.addr + uint64(off+i)
			pg, ok := p.overlay[a&^4095]
			if !ok {
				src, ok := base.pages[a&^4095]
				if !ok {
					continue
				}
				pg = append([]byte(nil), src...)
				p.overlay[a&^4095] = pg
			}
			pg[a&4095] = data[4+i]
		}
		data = data[4+n:]
	}
	return p
}

func fuzzCheck(t *testing.T, mem io.ReaderAt, l *Layout, maxRecords int) {
	recs, _, err := Read(mem, l)
	if err != nil {
		return
	}
	if len(recs) > maxRecords {
		t.Fatalf("%d records, more than %d", len(recs), maxRecords)
	}
	f := Formatter{}
	for _, style := range []Style{StyleDmesg, StyleCrash, StyleJSON} {
		f.Style = style
		var buf []byte
		for i := range recs {
			buf = f.Append(buf[:0], &recs[i])
		}
	}
}

func FuzzLockless(f *testing.F) {
	l := locklessLayout(f, vmcoreinfo61)
	w := newRingWriter(4, 9)
	for i := range 40 {
		w.add(lrec{ts: uint64(i) * 1e9, caller: uint32(i), text: fmt.Sprintf("message %d %s", i, "xxxxxxxxx"[:i%9])})
	}
	base := newVmem()
	w.install(base, &l.Lockless)
	regions := []region{
		{symPrb, 8}, {addrRB, 80}, {addrDescs, 16 * 24}, {addrInfos, 16 * 88}, {addrData, 512},
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 1, 30})                        // count_bits
	f.Add([]byte{1, 32, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0})   // tail_id
	f.Add([]byte{2, 8, 0, 8, 0xf0, 1, 0, 0, 0, 0, 0, 0}) // a begin lpos
	f.Add([]byte{3, 16, 0, 2, 0xff, 0xff})               // a text_len
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCheck(t, applyPatches(base, regions, data), l, 4096/24+16)
	})
}

func FuzzStructured(f *testing.F) {
	l, err := LayoutFromVMCOREINFO(mustInfo(f, structuredInfo("printk_log", true)))
	if err != nil {
		f.Fatal(err)
	}
	w := newLogWriter(1024, 24, true)
	for i := range 40 {
		w.add(srec{ts: uint64(i), text: fmt.Sprintf("line %d", i), dict: "DEVICE=x"[:i%9]})
	}
	base := newVmem()
	w.install(base)
	regions := []region{{symLogBuf, 0x20}, {addrLogBuf, 1024}}
	f.Add([]byte{})
	f.Add([]byte{0, 0x18, 0, 4, 0, 0, 0, 0})             // log_next_idx = 0
	f.Add([]byte{1, 8, 0, 2, 0, 0})                      // a zero length
	f.Add([]byte{1, 10, 0, 2, 0xff, 0xff})               // a huge text_len
	f.Add([]byte{0, 0x08, 0, 4, 0xff, 0xff, 0xff, 0x7f}) // log_buf_len
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCheck(t, applyPatches(base, regions, data), l, 1024/24+3)
	})
}

func FuzzPlain(f *testing.F) {
	l, err := LayoutFromVMCOREINFO(mustInfo(f, plainInfo()))
	if err != nil {
		f.Fatal(err)
	}
	base := newVmem()
	text := []byte("<6>[    0.000000] Linux version 3.2.0\n<4>warning\n<12>user\n")
	buf := make([]byte, 4096)
	copy(buf, text)
	base.put64(symLogBuf, addrLogBuf)
	base.put32(symBufLen, 4096)
	base.put32(symLogEnd, uint32(len(text)))
	base.put32(symLogged, uint32(len(text)))
	base.write(addrLogBuf, buf)
	regions := []region{{symLogBuf, 0x30}, {addrLogBuf, 4096}}
	f.Add([]byte{})
	f.Add([]byte{0, 0x20, 0, 4, 0xff, 0xff, 0xff, 0xff}) // log_end
	f.Add([]byte{0, 0x08, 0, 4, 0, 0, 0, 0x80})          // negative log_buf_len
	f.Add([]byte{1, 0, 0, 4, '<', '9', '9', '9'})
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzCheck(t, applyPatches(base, regions, data), l, 4097)
	})
}
