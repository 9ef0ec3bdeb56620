package kdumpfmt

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchPages returns n realistic 4 KiB pages: the test binary's own bytes
// (code, data, symbol tables) and Go source text, as a kernel's memory
// mixes code, data and text.
func benchPages(b *testing.B, n int) [][]byte {
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		b.Fatal(err)
	}
	var text []byte
	for _, name := range []string{"file.go", "writer.go", "flat.go", "header.go", "reader_test.go"} {
		t, _ := os.ReadFile(name)
		text = append(text, t...)
	}
	pages := make([][]byte, n)
	for i := range pages {
		p := make([]byte, 4096)
		if i%4 == 3 && len(text) > 4096 {
			off := (i * 4096 * 7) % (len(text) - 4096)
			copy(p, text[off:])
		} else {
			off := (i * 4096) % (len(exe) - 4096)
			copy(p, exe[off:])
		}
		pages[i] = p
	}
	return pages
}

func benchDump(b *testing.B, pages [][]byte, c Compression, level int32) []byte {
	src := &Source{
		Utsname: Utsname{Machine: "x86_64"}, MaxPFN: uint64(len(pages)), PageSize: 4096, DumpLevel: level,
		InRAM:    func(uint64) bool { return true },
		Dumpable: func(uint64) bool { return true },
		ReadPage: func(pfn uint64, dst []byte) error { copy(dst, pages[pfn]); return nil },
	}
	var w memWriterAt
	if err := Write(&w, src, WriteOptions{Compression: c}); err != nil {
		b.Fatal(err)
	}
	return w.b
}

// BenchmarkReadPage reads random pages (one op = one 4 KiB page) from an
// in-memory dump of 8192 pages, so the 64-page cache rarely hits.
func BenchmarkReadPage(b *testing.B) {
	pages := benchPages(b, 8192)
	for c := None; c <= Zstd; c++ {
		b.Run(c.String(), func(b *testing.B) {
			dump := benchDump(b, pages, c, 0)
			f, err := NewFile(bytes.NewReader(dump), int64(len(dump)))
			if err != nil {
				b.Fatal(err)
			}
			st, _ := f.Stats()
			order := make([]uint64, 1<<16)
			rng := rand.New(rand.NewPCG(1, 1))
			for i := range order {
				order[i] = uint64(rng.IntN(len(pages)))
			}
			dst := make([]byte, 4096)
			b.ReportMetric(float64(len(dump))/float64(len(pages)*4096), "ratio")
			b.Logf("%v: compressions %v, %d bytes for %d pages", c, st.Compressions, len(dump), len(pages))
			b.SetBytes(4096)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPUTime()
			for i := 0; i < b.N; i++ {
				pfn := order[i&(len(order)-1)]
				if err := f.ReadPage(pfn, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPUTime()-cpu)/float64(b.N), "cpu-ns/op")
			if !bytes.Equal(dst, pages[order[(b.N-1)&(len(order)-1)]]) {
				b.Fatal("last page read differs")
			}
		})
	}
}

// BenchmarkReadAtFile reads random pages through ReadAt from a dump on
// disk (zstd), as the vmcore layer does.
func BenchmarkReadAtFile(b *testing.B) {
	pages := benchPages(b, 8192)
	name := filepath.Join(b.TempDir(), "dump")
	if err := os.WriteFile(name, benchDump(b, pages, Zstd, 0), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := Open(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(2, 2))
	dst := make([]byte, 4096)
	b.SetBytes(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ReadAt(dst, int64(rng.IntN(len(pages)))*4096); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen1GiB opens a dump of 1 GiB of memory (262144 pages, -d 0,
// mostly zero pages, zstd) from disk: the cost is the headers, the
// bitmaps and the rank index, not the pages.
func BenchmarkOpen1GiB(b *testing.B) {
	const n = 1 << 18
	text := benchPages(b, 64)
	src := &Source{
		Utsname: Utsname{Machine: "x86_64"}, MaxPFN: n, PageSize: 4096,
		InRAM:    func(pfn uint64) bool { return pfn%32768 < 32000 },
		Dumpable: func(uint64) bool { return true },
		ReadPage: func(pfn uint64, dst []byte) error {
			clear(dst)
			if pfn%16 == 0 {
				copy(dst, text[pfn/16%64])
			}
			return nil
		},
	}
	name := filepath.Join(b.TempDir(), "dump1g")
	fh, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := Write(fh, src, WriteOptions{Compression: Zstd}); err != nil {
		b.Fatal(err)
	}
	st, _ := fh.Stat()
	fh.Close()
	b.Logf("1 GiB dump file: %d bytes", st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := Open(name)
		if err != nil {
			b.Fatal(err)
		}
		if f.MaxPFN() != n {
			b.Fatal("wrong size")
		}
		f.Close()
	}
}
