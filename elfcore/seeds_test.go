package elfcore

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// seedCores are the committed seeds of FuzzNewFile: the layouts the unit
// tests use plus damaged variants.
func seedCores() [][]byte {
	le, be := binary.LittleEndian, binary.BigEndian
	full := coreSpec{machine: elf.EM_X86_64, flags: flagIncomplete,
		loads: []loadSpec{load(0x1000, 0x40, 0x80), load(0x2000, 0x40, 0), load(0x1800, 0x10, 0)},
		noteSegs: [][]Note{
			{{Name: "CORE", Type: 1, Desc: prstatusDesc(le, 8, amd64DescSize, 1, 0, 0, amd64Regs())},
				{Name: "QEMU", Desc: qemuStateDesc(le, qemuStateGSSize, 1)}},
			{{Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.1.0\nPAGESIZE=4096\n")}},
		}}.bytes()
	hostileNote := coreSpec{machine: elf.EM_X86_64, noteSegs: [][]Note{{{Name: "CORE", Type: 1, Desc: make([]byte, 8)}}}}.bytes()
	le.PutUint32(hostileNote[64+56+4:], 0xffffffff)
	hugeXnum := coreSpec{machine: elf.EM_X86_64, xnum: true, loads: []loadSpec{load(0, 0x10, 0)}}.bytes()
	le.PutUint32(hugeXnum[64+44:], 0xffffffff)
	return [][]byte{
		full,
		full[:len(full)-0x50], // truncated in the last segment
		coreSpec{class: elf.ELFCLASS32, order: be, machine: elf.EM_PPC, xnum: true, loads: []loadSpec{load(0, 0x20, 0x40)},
			noteSegs: [][]Note{{{Name: "CORE", Type: 1, Desc: make([]byte, prReg32+48*4+4)}}}}.bytes(),
		coreSpec{class: elf.ELFCLASS32, machine: elf.EM_386, loads: []loadSpec{load(0x100, 0x20, 0)},
			noteSegs: [][]Note{{{Name: "CORE", Type: 1, Desc: make([]byte, i386DescSize)},
				{Name: "QEMU", Desc: qemuStateDesc(le, qemuStateBaseSize, 3)}}}}.bytes(),
		coreSpec{machine: elf.EM_AARCH64, order: le, loads: []loadSpec{load(1<<40, 0x20, 1<<20)},
			noteSegs: [][]Note{{{Name: "CORE", Type: 1, Desc: make([]byte, arm64DescSize)}}}}.bytes(),
		hostileNote,
		hugeXnum,
	}
}

func seedNotes() [][]byte {
	le, be := binary.LittleEndian, binary.BigEndian
	return [][]byte{
		encodeNotes([]Note{{Name: "CORE", Type: 1, Desc: prstatusDesc(le, 8, amd64DescSize, 1, 0, 0, amd64Regs())},
			{Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.1\n")}}, le),
		encodeNotes([]Note{{Name: "QEMU", Desc: qemuStateDesc(le, qemuStateGSSize, 0)}}, le),
		encodeNotes([]Note{{Name: "CORE", Type: 1, Desc: make([]byte, arm64DescSize)}, {Desc: []byte{1}}}, be),
		append(encodeNotes([]Note{{Name: "CORE", Type: 1, Desc: make([]byte, 8)}}, le), 0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0, 1, 0, 0, 0),
		append(encodeNotes([]Note{{Name: "VMCOREINFO", Desc: []byte("A=1")}}, le), make([]byte, 40)...),
	}
}

// TestWriteSeeds rewrites testdata/fuzz when run with -write-seeds, and
// otherwise checks that the committed corpora are still there.
func TestWriteSeeds(t *testing.T) {
	for name, seeds := range map[string][][]byte{"FuzzNewFile": seedCores(), "FuzzParseNotes": seedNotes()} {
		dir := filepath.Join("testdata", "fuzz", name)
		if !*writeSeeds {
			ents, err := os.ReadDir(dir)
			if err != nil || len(ents) < len(seeds) {
				t.Errorf("%s: %d seed files (%v); run go test -run TestWriteSeeds -write-seeds", dir, len(ents), err)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range seeds {
			file := filepath.Join(dir, fmt.Sprintf("seed-%x", sha256.Sum256(s))[:5+16])
			if err := os.WriteFile(file, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
