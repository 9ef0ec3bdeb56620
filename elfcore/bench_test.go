package elfcore

import (
	"bytes"
	"debug/elf"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchCore is a 64 MiB dump in 16 segments of 4 MiB with 1 MiB holes.
func benchCore() ([]byte, []uint64) {
	spec := coreSpec{machine: elf.EM_X86_64}
	var pages []uint64
	for i := range 16 {
		base := uint64(i) * 5 << 20
		spec.loads = append(spec.loads, loadSpec{paddr: base, data: make([]byte, 4<<20)})
		for p := base; p < base+4<<20; p += 4096 {
			pages = append(pages, p)
		}
	}
	return spec.bytes(), pages
}

func benchReads(b *testing.B, f *File, pages []uint64) {
	rng := rand.New(rand.NewPCG(1, 1))
	order := make([]uint64, 1<<16)
	for i := range order {
		order[i] = pages[rng.IntN(len(pages))]
	}
	p := make([]byte, 4096)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := f.ReadAt(p, int64(order[i&(len(order)-1)])); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadAt: random 4 KiB reads from a dump held in memory, which
// measures the lookup and copy without the file system.
func BenchmarkReadAt(b *testing.B) {
	data, pages := benchCore()
	f, err := NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	benchReads(b, f, pages)
}

// BenchmarkReadAtFile: the same reads through an *os.File (page cache hot),
// one pread per read.
func BenchmarkReadAtFile(b *testing.B) {
	data, pages := benchCore()
	name := filepath.Join(b.TempDir(), "vmcore")
	if err := os.WriteFile(name, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := Open(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	benchReads(b, f, pages)
}

// BenchmarkOpenManySegments: opening a dump with 70000 PT_LOADs (PN_XNUM).
func BenchmarkOpenManySegments(b *testing.B) {
	spec := coreSpec{machine: elf.EM_X86_64}
	for i := range 70000 {
		spec.loads = append(spec.loads, loadSpec{paddr: uint64(i) * 0x2000, data: make([]byte, 16), memsz: 0x1000})
	}
	data := spec.bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewFile(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
