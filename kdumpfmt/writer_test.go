package kdumpfmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/physmem"
)

// memWriterAt is an in-memory io.WriterAt.
type memWriterAt struct{ b []byte }

func (m *memWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(m.b) {
		m.b = append(m.b, make([]byte, end-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

// testMemory is synthetic physical memory: a hole, excluded pages, zero
// pages, text pages, random pages and optionally lost pages.
type testMemory struct {
	pageSize int
	maxPFN   uint64
	pages    map[uint64][]byte // dumpable pages
	ram      map[uint64]bool
	lost     map[uint64]bool
}

func newTestMemory(maxPFN uint64, pageSize int) *testMemory {
	m := &testMemory{pageSize: pageSize, maxPFN: maxPFN, pages: map[uint64][]byte{}, ram: map[uint64]bool{}, lost: map[uint64]bool{}}
	for pfn := uint64(0); pfn < maxPFN; pfn++ {
		if pfn%64 >= 50 && pfn%64 < 54 {
			continue // holes
		}
		m.ram[pfn] = true
		switch {
		case pfn%9 == 4: // excluded
		case pfn%5 == 1:
			m.pages[pfn] = make([]byte, pageSize)
		case pfn%13 == 7:
			p := make([]byte, pageSize) // incompressible: stored raw
			rng := rand.New(rand.NewPCG(pfn, 3))
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			m.pages[pfn] = p
		default:
			m.pages[pfn] = tPageData(pfn, pageSize)
		}
	}
	return m
}

func (m *testMemory) source(dumpLevel int32) *Source {
	return &Source{
		Utsname:      Utsname{"Linux", "host", "6.1.0", "#1 SMP", "x86_64", "(none)"},
		TimestampSec: 1700000001, TimestampUsec: 5,
		NrCPUs:    2,
		PhysBase:  0x1000000,
		DumpLevel: dumpLevel,
		MaxPFN:    m.maxPFN,
		PageSize:  m.pageSize,
		InRAM:     func(pfn uint64) bool { return m.ram[pfn] },
		Dumpable:  func(pfn uint64) bool { _, ok := m.pages[pfn]; return ok },
		ReadPage: func(pfn uint64, dst []byte) error {
			if m.lost[pfn] {
				return &physmem.Error{Addr: pfn * uint64(m.pageSize), Kind: physmem.Lost}
			}
			copy(dst, m.pages[pfn])
			return nil
		},
		Notes:      testELFNote(binary.LittleEndian, "VMCOREINFO", 0, []byte(testVMCI)),
		VMCOREINFO: []byte(testVMCI),
		EraseInfo:  []byte("erase x size 4\n"),
	}
}

// verify reads every frame of f and compares it with m.
func (m *testMemory) verify(t *testing.T, f *File) {
	t.Helper()
	buf := make([]byte, m.pageSize)
	for pfn := uint64(0); pfn < m.maxPFN; pfn++ {
		err := f.ReadPage(pfn, buf)
		data, dumped := m.pages[pfn]
		switch {
		case !m.ram[pfn]:
			if !errors.Is(err, physmem.ErrNotInDump) {
				t.Fatalf("pfn %#x: %v, want not in dump", pfn, err)
			}
		case !dumped:
			if !errors.Is(err, physmem.ErrExcluded) {
				t.Fatalf("pfn %#x: %v, want excluded", pfn, err)
			}
		case m.lost[pfn]:
			if !errors.Is(err, physmem.ErrLost) {
				t.Fatalf("pfn %#x: %v, want lost", pfn, err)
			}
		case err != nil:
			t.Fatalf("pfn %#x: %v", pfn, err)
		case !bytes.Equal(buf, data):
			t.Fatalf("pfn %#x: data differs", pfn)
		}
	}
}

func TestWriteRoundTrip(t *testing.T) {
	m := newTestMemory(700, 4096)
	for _, level := range []int32{0, 31} {
		for c := None; c <= Zstd; c++ {
			t.Run(fmt.Sprintf("d%d/%v", level, c), func(t *testing.T) {
				var w memWriterAt
				if err := Write(&w, m.source(level), WriteOptions{Compression: c}); err != nil {
					t.Fatal(err)
				}
				f := openBytes(t, w.b)
				m.verify(t, f)
				if f.Header.Version != 6 || f.Compression() != c.String() || f.SubHeader.DumpLevel != level ||
					f.SubHeader.PhysBase != 0x1000000 || f.Header.NrCPUs != 2 || f.Header.Utsname.Machine != "x86_64" {
					t.Errorf("header %+v sub %+v", f.Header, f.SubHeader)
				}
				if string(f.VMCOREINFO()) != testVMCI || string(f.EraseInfo()) != "erase x size 4\n" || len(f.Notes()) == 0 {
					t.Errorf("vmcoreinfo %q eraseinfo %q notes %d", f.VMCOREINFO(), f.EraseInfo(), len(f.Notes()))
				}
				st, err := f.Stats()
				if err != nil {
					t.Fatal(err)
				}
				var zero uint64
				for _, p := range m.pages {
					if isZero(p) {
						zero++
					}
				}
				want := []string{"none"}
				if c != None {
					want = []string{c.String(), "none"} // random pages stay raw
					if c.String() > "none" {
						want = []string{"none", c.String()}
					}
				}
				if level&1 == 0 {
					zero = 0
				}
				if st.Zero != zero || st.Present != uint64(len(m.pages)) || st.Lost != 0 || !cmp.Equal(st.Compressions, want) {
					t.Errorf("stats %+v, want zero %d present %d compressions %v", st, zero, len(m.pages), want)
				}
				// Compression must actually shrink the text pages.
				if c != None && len(w.b) > int(m.maxPFN)*4096*3/4 {
					t.Errorf("%v dump of %d pages is %d bytes", c, m.maxPFN, len(w.b))
				}

				// The flattened form rearranges to the same bytes.
				var flat bytes.Buffer
				if err := WriteFlattened(&flat, m.source(level), WriteOptions{Compression: c}); err != nil {
					t.Fatal(err)
				}
				ff := openBytes(t, flat.Bytes())
				if ff.Format() != "kdump-flat" {
					t.Errorf("format %q", ff.Format())
				}
				m.verify(t, ff)
				re := make([]byte, len(w.b))
				if _, err := ff.parts[0].r.ReadAt(re, 0); err != nil || !bytes.Equal(re, w.b) {
					t.Errorf("rearranged flattened output differs from the plain output (%v)", err)
				}
			})
		}
	}
}

func TestWriteLostAndRecompress(t *testing.T) {
	m := newTestMemory(300, 4096)
	for pfn := range m.pages {
		if pfn > 200 {
			m.lost[pfn] = true
		}
	}
	var w memWriterAt
	if err := Write(&w, m.source(1), WriteOptions{Compression: Zlib}); err != nil {
		t.Fatal(err)
	}
	f := openBytes(t, w.b)
	if !f.Incomplete() {
		t.Error("output with lost pages is not marked incomplete")
	}
	m.verify(t, f)
	// Re-compress the dump with every method: same memory, same lost pages.
	for c := None; c <= Zstd; c++ {
		var w2 memWriterAt
		if err := Write(&w2, FromFile(f), WriteOptions{Compression: c}); err != nil {
			t.Fatal(err)
		}
		g := openBytes(t, w2.b)
		m.verify(t, g)
		if !g.Incomplete() || g.Compression() != c.String() || string(g.VMCOREINFO()) != testVMCI {
			t.Errorf("%v: incomplete %v compression %s", c, g.Incomplete(), g.Compression())
		}
	}
}

func TestWriteFromBuilderDump(t *testing.T) {
	// Re-compress hand-built dumps of every layout and byte order.
	for _, layout := range []string{"64", "32pack", "32pad"} {
		for _, be := range []bool{false, true} {
			d := newTestDump(6, layout, be)
			f := openBytes(t, d.build())
			var w memWriterAt
			if err := Write(&w, FromFile(f), WriteOptions{Compression: Snappy}); err != nil {
				t.Fatal(err)
			}
			g := openBytes(t, w.b)
			if g.Header.Layout != f.Header.Layout || g.Header.ByteOrder != f.Header.ByteOrder {
				t.Errorf("%s be=%v: layout %v order %v", layout, be, g.Header.Layout, g.Header.ByteOrder)
			}
			checkPages(t, g, d)
		}
	}
}

func TestWriteToFile(t *testing.T) {
	m := newTestMemory(200, 4096)
	name := t.TempDir() + "/dump"
	fh, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(fh, m.source(31), WriteOptions{Compression: LZO}); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	f, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m.verify(t, f)
}

func TestParseCompression(t *testing.T) {
	for c := None; c <= Zstd; c++ {
		got, err := ParseCompression(c.String())
		if err != nil || got != c {
			t.Errorf("%v: %v %v", c, got, err)
		}
	}
	if _, err := ParseCompression("gzip"); err == nil {
		t.Error("gzip accepted")
	}
}
