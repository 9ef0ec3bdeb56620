package kdumpfmt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/physmem"
)

var testCodecs = []string{"raw", "zlib", "lzo", "snappy", "zstd"}

// testELFNote builds one ELF note (4-byte aligned name and descriptor).
func testELFNote(order binary.ByteOrder, name string, typ uint32, desc []byte) []byte {
	nm := append([]byte(name), 0)
	b := make([]byte, 12)
	order.PutUint32(b[0:], uint32(len(nm)))
	order.PutUint32(b[4:], uint32(len(desc)))
	order.PutUint32(b[8:], typ)
	b = append(b, nm...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

const testVMCI = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82a1a000\n"

// newTestDump describes 300 frames: a hole at [100,120), every 7th RAM frame
// excluded, pages compressed in turn with each codec, a few zero pages.
func newTestDump(version int32, layout string, bigEndian bool) *tDump {
	d := &tDump{version: version, layout: layout, bigEndian: bigEndian, pageSize: 4096, maxPFN: 300, dumpLevel: 17, machine: "x86_64"}
	if layout != "64" && layout != "" {
		d.machine = "i686"
	}
	for pfn := uint64(0); pfn < d.maxPFN; pfn++ {
		if pfn >= 100 && pfn < 120 {
			continue
		}
		d.ram = append(d.ram, pfn)
		if pfn%7 == 3 {
			continue
		}
		pg := tPage{pfn: pfn, data: tPageData(pfn, d.pageSize), codec: testCodecs[pfn%5]}
		if pfn%11 == 5 {
			pg.data, pg.codec = make([]byte, d.pageSize), "zero"
		}
		d.pages = append(d.pages, pg)
	}
	o := d.order()
	vmci := []byte(testVMCI)
	d.notes = append(testELFNote(o, "CORE", 1, bytes.Repeat([]byte{1}, 336)), testELFNote(o, "VMCOREINFO", 0, vmci)...)
	if version >= 3 {
		d.vmcoreinfo = vmci
	}
	d.eraseinfo = []byte("erase init_uts_ns.name.nodename size 65\n")
	return d
}

// checkPages compares every frame's read result with what d holds.
func checkPages(t *testing.T, f *File, d *tDump) {
	t.Helper()
	want := map[uint64][]byte{}
	for _, pg := range d.pages {
		want[pg.pfn] = pg.data
	}
	ram := map[uint64]bool{}
	for _, pfn := range d.ram {
		ram[pfn] = true
	}
	buf := make([]byte, d.pageSize)
	for pfn := uint64(0); pfn < d.maxPFN+3; pfn++ {
		err := f.ReadPage(pfn, buf)
		data, dumped := want[pfn]
		var wantKind physmem.Kind
		switch {
		case pfn >= d.maxPFN:
			wantKind = physmem.BeyondEnd
		case !ram[pfn]:
			wantKind = physmem.NotInDump
		case !dumped:
			wantKind = physmem.Excluded
		case data == nil:
			wantKind = physmem.Lost
		}
		if wantKind != 0 {
			var pe *physmem.Error
			if !errors.As(err, &pe) || pe.Kind != wantKind || pe.Addr != pfn*uint64(d.pageSize) {
				t.Fatalf("pfn %#x: got %v, want %v", pfn, err, wantKind)
			}
			continue
		}
		if err != nil {
			t.Fatalf("pfn %#x: %v", pfn, err)
		}
		if !bytes.Equal(buf, data) {
			t.Fatalf("pfn %#x: data differs", pfn)
		}
	}
}

func openBytes(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := NewFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestVersionsLayoutsByteOrders(t *testing.T) {
	for _, layout := range []string{"64", "32pack", "32pad"} {
		for _, be := range []bool{false, true} {
			for v := int32(1); v <= 6; v++ {
				t.Run(fmt.Sprintf("%s/be=%v/v%d", layout, be, v), func(t *testing.T) {
					d := newTestDump(v, layout, be)
					f := openBytes(t, d.build())
					wantLayout := map[string]Layout{"64": Layout64, "32pack": Layout32Packed, "32pad": Layout32Padded}[layout]
					if v < 3 && layout == "32pad" {
						wantLayout = Layout32Packed // identical before version 3
					}
					if f.Header.Layout != wantLayout || (f.Header.ByteOrder == binary.BigEndian) != be {
						t.Errorf("layout %v order %v", f.Header.Layout, f.Header.ByteOrder)
					}
					if f.Header.Version != v || f.Header.Utsname.Release != "6.1.0-test" || f.Header.NrCPUs != 3 ||
						f.Header.TimestampSec != 1700000000 || f.Header.TimestampUsec != 123456 {
						t.Errorf("header %+v", f.Header)
					}
					if f.SubHeader.DumpLevel != 17 || f.SubHeader.PhysBase != 0x1000 {
						t.Errorf("sub-header %+v", f.SubHeader)
					}
					if f.Format() != "kdump" || f.MaxPFN() != 300 || f.PageSize() != 4096 {
						t.Errorf("format %s maxpfn %d page %d", f.Format(), f.MaxPFN(), f.PageSize())
					}
					wantVMCI := ""
					if v >= 3 {
						wantVMCI = testVMCI
					}
					if string(f.VMCOREINFO()) != wantVMCI {
						t.Errorf("VMCOREINFO %q", f.VMCOREINFO())
					}
					if (v >= 4) != (len(f.Notes()) == len(d.notes)) {
						t.Errorf("notes: %d bytes", len(f.Notes()))
					}
					if (v >= 5) != (string(f.EraseInfo()) == string(d.eraseinfo)) {
						t.Errorf("eraseinfo %q", f.EraseInfo())
					}
					checkPages(t, f, d)
				})
			}
		}
	}
}

func TestDiskdumpSingleBitmap(t *testing.T) {
	d := newTestDump(1, "64", false)
	d.sig = "DISKDUMP"
	d.singleBitmap = true
	// One bitmap serves as both: every RAM frame is dumped.
	d.pages = nil
	for _, pfn := range d.ram {
		d.pages = append(d.pages, tPage{pfn: pfn, data: tPageData(pfn, 4096), codec: "raw"})
	}
	f := openBytes(t, d.build())
	if f.Format() != "diskdump" {
		t.Errorf("format %q", f.Format())
	}
	checkPages(t, f, d)
}

func TestFlattened(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		d := newTestDump(6, "64", false)
		flat := tFlatten(d.build(), seed)
		if k, ok := Sniff(bytes.NewReader(flat)); !ok || k != KindFlattened {
			t.Fatalf("Sniff = %v %v", k, ok)
		}
		f := openBytes(t, flat)
		if f.Format() != "kdump-flat" || !f.Flattened() {
			t.Errorf("format %q", f.Format())
		}
		if string(f.VMCOREINFO()) != testVMCI {
			t.Errorf("VMCOREINFO %q", f.VMCOREINFO())
		}
		checkPages(t, f, d)
	}
}

func TestFlatReaderOverlaps(t *testing.T) {
	// Records: [0,100) of 'a', [50,150) of 'b', [20,30) of 'c', [140,160) 'd'.
	var buf bytes.Buffer
	head := make([]byte, 4096)
	copy(head, "makedumpfile")
	binary.BigEndian.PutUint64(head[16:], 1)
	binary.BigEndian.PutUint64(head[24:], 1)
	buf.Write(head)
	want := make([]byte, 170)
	for _, r := range []struct {
		off, n int
		c      byte
	}{{0, 100, 'a'}, {50, 100, 'b'}, {20, 10, 'c'}, {140, 20, 'd'}, {165, 5, 'e'}} {
		var h [16]byte
		binary.BigEndian.PutUint64(h[:], uint64(r.off))
		binary.BigEndian.PutUint64(h[8:], uint64(r.n))
		buf.Write(h[:])
		buf.Write(bytes.Repeat([]byte{r.c}, r.n))
		copy(want[r.off:r.off+r.n], bytes.Repeat([]byte{r.c}, r.n))
	}
	buf.Write(bytes.Repeat([]byte{0xff}, 16))
	fr, err := newFlatReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if fr.Size() != 170 {
		t.Fatalf("size %d", fr.Size())
	}
	got := make([]byte, 170)
	if _, err := fr.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("rearranged bytes (-want +got):\n%s", diff)
	}
	for off := 0; off < 170; off += 7 {
		p := make([]byte, 13)
		n, err := fr.ReadAt(p, int64(off))
		if n != min(13, 170-off) || (n < 13) != (err == io.EOF) || !bytes.Equal(p[:n], want[off:off+n]) {
			t.Fatalf("ReadAt(%d): n=%d err=%v", off, n, err)
		}
	}
}

func TestSplitSet(t *testing.T) {
	d := newTestDump(6, "64", false)
	bounds := []uint64{0, 90, 200, 300}
	var parts []io.ReaderAt
	var sizes []int64
	for i := len(bounds) - 2; i >= 0; i-- { // reverse order on purpose
		p := *d
		p.split, p.start, p.end = true, bounds[i], bounds[i+1]
		b := p.build()
		if i == 1 {
			b = tFlatten(b, 5) // a flattened file in the set
		}
		parts = append(parts, bytes.NewReader(b))
		sizes = append(sizes, int64(len(b)))
	}
	f, err := NewSplit(parts, sizes)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format() != "kdump-split" || f.Files() != 3 || len(f.Warnings) != 0 {
		t.Errorf("format %q files %d warnings %q", f.Format(), f.Files(), f.Warnings)
	}
	checkPages(t, f, d)

	// Missing the middle file: its pages are lost, and a warning says so.
	f, err = NewSplit([]io.ReaderAt{parts[0], parts[2]}, []int64{sizes[0], sizes[2]})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "[0x5a, 0xc8)") {
		t.Errorf("warnings %q", f.Warnings)
	}
	if err := f.ReadPage(150, make([]byte, 4096)); !errors.Is(err, physmem.ErrLost) {
		t.Errorf("page in missing file: %v", err)
	}
	if err := f.ReadPage(250, make([]byte, 4096)); err != nil {
		t.Errorf("page in present file: %v", err)
	}
	// The same file twice overlaps.
	if _, err := NewSplit([]io.ReaderAt{parts[0], parts[0]}, []int64{sizes[0], sizes[0]}); err == nil || !strings.Contains(err.Error(), "overlapping") {
		t.Errorf("duplicate file: %v", err)
	}
}

func TestOpenFiles(t *testing.T) {
	dir := t.TempDir()
	d := newTestDump(6, "64", false)
	var names []string
	for i, r := range [][2]uint64{{150, 300}, {0, 150}} {
		p := *d
		p.split, p.start, p.end = true, r[0], r[1]
		name := filepath.Join(dir, fmt.Sprintf("part%d", i))
		if err := os.WriteFile(name, p.build(), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	f, err := Open(names...)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkPages(t, f, d)
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("opening a missing file succeeded")
	}
	notDump := filepath.Join(dir, "text")
	os.WriteFile(notDump, bytes.Repeat([]byte("hello "), 200), 0o644)
	if _, err := Open(notDump); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("non-dump: %v", err)
	}
}

func TestIncomplete(t *testing.T) {
	d := newTestDump(6, "64", false)
	d.status = StatusIncomplete
	for i := range d.pages {
		if d.pages[i].pfn >= 250 {
			d.pages[i].data = nil // never written
		}
	}
	f := openBytes(t, d.build())
	if !f.Incomplete() || len(f.Warnings) == 0 {
		t.Errorf("incomplete %v warnings %q", f.Incomplete(), f.Warnings)
	}
	checkPages(t, f, d)
	st, err := f.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var lost uint64
	for _, pg := range d.pages {
		if pg.data == nil {
			lost++
		}
	}
	if st.Lost != lost || lost == 0 {
		t.Errorf("stats lost %d, want %d", st.Lost, lost)
	}
}

func TestTruncated(t *testing.T) {
	d := newTestDump(6, "64", false)
	full := d.build()
	// Cut inside the page data: later pages are lost, the rest readable.
	cut := full[:len(full)-len(d.eraseinfo)-60000]
	d.version = 4 // no eraseinfo to read past the cut
	d.eraseinfo = nil
	cut = d.build()[:len(cut)]
	f := openBytes(t, cut)
	buf := make([]byte, 4096)
	var ok, lost int
	for _, pg := range d.pages {
		err := f.ReadPage(pg.pfn, buf)
		switch {
		case err == nil:
			if !bytes.Equal(buf, pg.data) {
				t.Fatalf("pfn %#x differs", pg.pfn)
			}
			ok++
		case errors.Is(err, physmem.ErrLost):
			lost++
		default:
			t.Fatalf("pfn %#x: %v", pg.pfn, err)
		}
	}
	if ok == 0 || lost == 0 {
		t.Errorf("ok %d lost %d", ok, lost)
	}
}

func TestStats(t *testing.T) {
	d := newTestDump(6, "64", false)
	f := openBytes(t, d.build())
	st, err := f.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var zero, present uint64
	for _, pg := range d.pages {
		present++
		if pg.codec == "zero" {
			zero++
		}
	}
	want := Stats{
		MaxPFN:       300,
		RAM:          280,
		Present:      present,
		Excluded:     280 - present,
		Zero:         zero,
		Compressions: []string{"lzo", "none", "snappy", "zlib", "zstd"},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestReadAt(t *testing.T) {
	d := newTestDump(6, "64", false)
	f := openBytes(t, d.build())
	mem := map[uint64][]byte{}
	for _, pg := range d.pages {
		mem[pg.pfn] = pg.data
	}
	// Pages 0..2 are dumped; read across their boundaries at odd offsets.
	for _, c := range []struct{ off, n int }{{0, 4096}, {100, 5000}, {4000, 200}, {1, 3*4096 - 2}, {8191, 2}} {
		got := make([]byte, c.n)
		n, err := f.ReadAt(got, int64(c.off))
		if err != nil || n != c.n {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", c.off, c.n, n, err)
		}
		want := append(append(append([]byte{}, mem[0]...), mem[1]...), mem[2]...)[c.off : c.off+c.n]
		if !bytes.Equal(got, want) {
			t.Fatalf("ReadAt(%d, %d): bytes differ", c.off, c.n)
		}
	}
	// Page 3 is excluded: a read from 2.5 pages stops at its start.
	got := make([]byte, 4096)
	n, err := f.ReadAt(got, 2*4096+2048)
	var pe *physmem.Error
	if n != 2048 || !errors.As(err, &pe) || pe.Kind != physmem.Excluded || pe.Addr != 3*4096 {
		t.Errorf("read into excluded page: n=%d err=%v", n, err)
	}
	n, err = f.ReadAt(got[:10], 3*4096+5)
	if n != 0 || !errors.As(err, &pe) || pe.Addr != 3*4096+5 {
		t.Errorf("read inside excluded page: n=%d err=%v", n, err)
	}
	if _, err := f.ReadAt(got, 300*4096); !errors.Is(err, physmem.ErrBeyondEnd) {
		t.Errorf("read past end: %v", err)
	}
	if _, err := f.ReadAt(got, 110*4096); !errors.Is(err, physmem.ErrNotInDump) {
		t.Errorf("read in hole: %v", err)
	}
}

func TestHostile(t *testing.T) {
	base := newTestDump(6, "64", false).build()
	patch := func(off int, v uint64, size int) []byte {
		b := append([]byte(nil), base...)
		if size == 8 {
			binary.LittleEndian.PutUint64(b[off:], v)
		} else {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		}
		return b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"2^40 pages", patch(4096+96, 1<<40, 8), "cannot cover"},
		{"2^40 pages and bitmap", func() []byte {
			b := patch(4096+96, 1<<40, 8)
			binary.LittleEndian.PutUint32(b[436:], 1<<26) // bitmap_blocks
			return b
		}(), "past the end"},
		{"bitmap past EOF", patch(436, 1000, 4), "past the end"},
		{"note of 4 GiB", patch(4096+56, 4<<30, 8), "ELF notes claims"},
		{"note past EOF", patch(4096+48, 1<<40, 8), "past the end"},
		{"vmcoreinfo past EOF", patch(4096+32, uint64(len(base)-10), 8), "past the end"},
		{"block size 3", patch(428, 3, 4), "block size"},
		{"truncated header", base[:100], "truncated"},
		{"sub-header truncated", base[:4100], "sub-header truncated"},
		{"no signature", append([]byte("NOTADUMP"), base[8:]...), "signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewFile(bytes.NewReader(c.data), int64(len(c.data)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestCorruptDescriptors(t *testing.T) {
	d := newTestDump(6, "64", false)
	b := d.build()
	f := openBytes(t, b)
	p := f.parts[0]
	// Page 1 is the second descriptor (page 0 first); corrupt it in turn.
	descOff := int(p.pdOff) + pageDescSize
	for _, c := range []struct {
		name  string
		patch func([]byte)
	}{
		{"raw size", func(b []byte) {
			binary.LittleEndian.PutUint32(b[descOff+8:], 100)
			binary.LittleEndian.PutUint32(b[descOff+12:], 0)
		}},
		{"huge compressed", func(b []byte) { binary.LittleEndian.PutUint32(b[descOff+8:], 1<<30) }},
		{"unknown codec", func(b []byte) { binary.LittleEndian.PutUint32(b[descOff+12:], 0x40) }},
		{"bad zlib", func(b []byte) {
			binary.LittleEndian.PutUint32(b[descOff+12:], CompressZlib|0)
			binary.LittleEndian.PutUint32(b[descOff+8:], 64)
		}},
		{"offset 0", func(b []byte) { binary.LittleEndian.PutUint64(b[descOff:], 0) }},
	} {
		bb := append([]byte(nil), b...)
		c.patch(bb)
		f := openBytes(t, bb)
		err := f.ReadPage(1, make([]byte, 4096))
		var ce *CorruptError
		if c.name == "huge compressed" {
			if !errors.Is(err, physmem.ErrLost) && !errors.As(err, &ce) {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a CorruptError", c.name, err)
		}
		if c.name == "unknown codec" && !errors.Is(err, ErrUnsupportedCompression) {
			t.Errorf("%s: %v is not ErrUnsupportedCompression", c.name, err)
		}
	}
}

func TestNotesWithoutVmcoreinfoOffset(t *testing.T) {
	// Version 4+ dumps whose sub-header has no VMCOREINFO offset: it is
	// found in the notes.
	d := newTestDump(6, "64", false)
	d.vmcoreinfo = nil
	f := openBytes(t, d.build())
	if string(f.VMCOREINFO()) != testVMCI {
		t.Errorf("VMCOREINFO from notes: %q", f.VMCOREINFO())
	}
	ns, err := f.ParsedNotes()
	if err != nil || len(ns) != 2 || ns[0].Name != "CORE" || ns[0].Type != 1 || len(ns[0].Desc) != 336 || ns[1].Name != "VMCOREINFO" {
		t.Errorf("parsed notes %v, %v", ns, err)
	}
}

func TestConcurrentReads(t *testing.T) {
	d := newTestDump(6, "64", false)
	f := openBytes(t, d.build())
	want := map[uint64][]byte{}
	for _, pg := range d.pages {
		want[pg.pfn] = pg.data
	}
	errc := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			buf := make([]byte, 4096+100)
			for i := 0; i < 2000; i++ {
				pfn := uint64((i*7 + g*13) % 300)
				data, ok := want[pfn]
				if !ok {
					continue
				}
				off := int64(pfn*4096) + int64(i%2)*50 // whole pages and straddling reads
				n, err := f.ReadAt(buf[:4096], off)
				if err != nil {
					if _, next := want[pfn+1]; i%2 == 1 && !next {
						continue // the straddling read ran into an excluded page
					}
					errc <- fmt.Errorf("pfn %#x: n=%d: %v", pfn, n, err)
					return
				}
				if !bytes.Equal(buf[:4096-int(off%4096)], data[off%4096:]) {
					errc <- fmt.Errorf("pfn %#x: data differs", pfn)
					return
				}
			}
			errc <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func TestSniffAndRearrange(t *testing.T) {
	plain := newTestDump(6, "64", false).build()
	elfish := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{1}, 5000)...)
	for _, c := range []struct {
		name string
		data []byte
		kind Kind
		ok   bool
	}{
		{"kdump", plain, KindKdump, true},
		{"diskdump", append([]byte("DISKDUMP"), plain[8:]...), KindDiskdump, true},
		{"flat kdump", tFlatten(plain, 9), KindFlattened, true},
		{"flat elf", tFlatten(elfish, 3), KindFlattenedELF, false},
		{"elf", elfish, 0, false},
		{"short", []byte("KDU"), 0, false},
	} {
		k, ok := Sniff(bytes.NewReader(c.data))
		if k != c.kind || ok != c.ok {
			t.Errorf("%s: Sniff = %v, %v; want %v, %v", c.name, k, ok, c.kind, c.ok)
		}
	}
	flat := tFlatten(elfish, 3)
	r, size, err := Rearrange(bytes.NewReader(flat), int64(len(flat)))
	if err != nil || size != int64(len(elfish)) {
		t.Fatalf("Rearrange: size %d, %v", size, err)
	}
	got := make([]byte, size)
	if _, err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, elfish) {
		t.Errorf("rearranged bytes differ (%v)", err)
	}
	if _, _, err := Rearrange(bytes.NewReader(plain), int64(len(plain))); err == nil {
		t.Error("Rearrange accepted a plain dump")
	}
}

func TestStatsZeroPageWithoutDumpLevel(t *testing.T) {
	// A writer that shares the zero page without setting dump level bit 1:
	// several descriptors pointing at the first data block still mark it.
	d := newTestDump(6, "64", false)
	d.dumpLevel = 0
	var zero uint64
	for _, pg := range d.pages {
		if pg.codec == "zero" {
			zero++
		}
	}
	st, err := openBytes(t, d.build()).Stats()
	if err != nil || st.Zero != zero || zero < 2 {
		t.Errorf("zero %d, want %d (%v)", st.Zero, zero, err)
	}
	// A single raw page first in the data is not a zero page.
	d.pages = []tPage{{pfn: 0, data: tPageData(0, 4096), codec: "raw"}, {pfn: 1, data: tPageData(1, 4096), codec: "zlib"}}
	st, err = openBytes(t, d.build()).Stats()
	if err != nil || st.Zero != 0 || !cmp.Equal(st.Compressions, []string{"none", "zlib"}) {
		t.Errorf("stats %+v (%v)", st, err)
	}
}

// ReadHeaders gives what Open gives for the headers, without the bitmaps,
// and refuses a flattened file with ErrFlattened.
func TestReadHeaders(t *testing.T) {
	d := newTestDump(6, "64", false)
	d.split, d.start, d.end = true, 90, 200
	b := d.build()
	h, s, err := ReadHeaders(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.Header, h); diff != "" {
		t.Errorf("header differs from Open's:\n%s", diff)
	}
	if diff := cmp.Diff(f.SubHeader, s); diff != "" {
		t.Errorf("sub-header differs from Open's:\n%s", diff)
	}
	if s.Split == 0 || MaxPFN(&h, &s) != f.MaxPFN() {
		t.Errorf("split %d, MaxPFN %d, File.MaxPFN %d", s.Split, MaxPFN(&h, &s), f.MaxPFN())
	}
	if _, _, err := ReadHeaders(bytes.NewReader(tFlatten(b, 3))); !errors.Is(err, ErrFlattened) {
		t.Errorf("flattened: err %v, want ErrFlattened", err)
	}
	if _, _, err := ReadHeaders(bytes.NewReader(b[:20])); err == nil {
		t.Error("a 20-byte file: no error")
	}
}

// TestFlatReaderBounds: records without data, and more records than a
// file of that size can honestly hold, end the index with an error naming
// the record, at once rather than after a pass over a huge file.
func TestFlatReaderBounds(t *testing.T) {
	build := func(n, size int) []byte {
		var buf bytes.Buffer
		head := make([]byte, 4096)
		copy(head, "makedumpfile")
		binary.BigEndian.PutUint64(head[16:], 1)
		binary.BigEndian.PutUint64(head[24:], 1)
		buf.Write(head)
		for i := 0; i < n; i++ {
			var h [16]byte
			binary.BigEndian.PutUint64(h[:], uint64(i*size))
			binary.BigEndian.PutUint64(h[8:], uint64(size))
			buf.Write(h[:])
			buf.Write(make([]byte, size))
		}
		buf.Write(bytes.Repeat([]byte{0xff}, 16))
		return buf.Bytes()
	}
	for _, c := range []struct {
		name    string
		n, size int
		want    string
	}{
		{"empty records", maxEmptyRecords + 1, 0, "records without data"},
		{"tiny records", 300000, 1, "more than"},
	} {
		b := build(c.n, c.size)
		_, err := newFlatReader(bytes.NewReader(b), int64(len(b)))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "flattened record at ") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Real records (a page each) of the same count pass.
	b := build(2000, 4096)
	if fr, err := newFlatReader(bytes.NewReader(b), int64(len(b))); err != nil || fr.records != 2000 {
		t.Errorf("2000 page records: %v", err)
	}
}
