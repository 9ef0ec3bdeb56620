package elfcore

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"
)

// FuzzNewFile opens arbitrary bytes as a core and exercises everything that
// reads from it. It must never panic, hang or allocate without bound.
func FuzzNewFile(f *testing.F) {
	le := binary.LittleEndian
	f.Add(coreSpec{machine: elf.EM_X86_64, loads: []loadSpec{load(0x1000, 0x40, 0x80), load(0x2000, 0x40, 0)},
		noteSegs: [][]Note{{{Name: "CORE", Type: 1, Desc: prstatusDesc(le, 8, amd64DescSize, 1, 0, 0, amd64Regs())},
			{Name: "VMCOREINFO", Desc: []byte("PAGESIZE=4096\n")}}}}.bytes())
	f.Add(coreSpec{class: elf.ELFCLASS32, order: binary.BigEndian, machine: elf.EM_PPC, xnum: true,
		loads: []loadSpec{load(0, 0x20, 0x40)}}.bytes())
	f.Add(coreSpec{class: elf.ELFCLASS32, machine: elf.EM_386, loads: []loadSpec{load(0x100, 0x20, 0)},
		noteSegs: [][]Note{{{Name: "QEMU", Desc: qemuStateDesc(le, qemuStateGSSize, 3)}}}}.bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		file.VMCOREINFO()
		file.PRStatus()
		file.QEMUCPUStates()
		var prevEnd uint64
		for i, r := range file.Ranges() {
			if r.Start >= r.End || (i > 0 && r.Start < prevEnd) {
				t.Fatalf("range %d %+v not sorted and disjoint (previous end %#x)", i, r, prevEnd)
			}
			prevEnd = r.End
		}
		p := make([]byte, 256)
		for _, s := range file.Segments {
			for _, a := range []uint64{s.PAddr, s.PAddr + s.FileSize - 1, s.PAddr + s.MemSize - 128} {
				if a < 1<<62 {
					if n, err := file.ReadAt(p, int64(a)); n < len(p) && err == nil {
						t.Fatalf("short read without error at %#x", a)
					}
				}
			}
		}
	})
}

// FuzzParseNotes splits arbitrary bytes into notes in both byte orders and
// decodes them as register notes for several machines.
func FuzzParseNotes(f *testing.F) {
	le := binary.LittleEndian
	f.Add(encodeNotes([]Note{{Name: "CORE", Type: 1, Desc: prstatusDesc(le, 8, amd64DescSize, 1, 0, 0, amd64Regs())},
		{Name: "VMCOREINFO", Desc: []byte("OSRELEASE=6.1\n")}}, le))
	f.Add(encodeNotes([]Note{{Name: "QEMU", Desc: qemuStateDesc(le, qemuStateGSSize, 0)}}, le))
	f.Add(encodeNotes([]Note{{Name: "CORE", Type: 1, Desc: make([]byte, arm64DescSize)}}, binary.BigEndian))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			notes, _ := ParseNotes(data, order)
			total := 0
			for _, n := range notes {
				total += 12 + len(n.Name) + len(n.Desc)
				for _, m := range []elf.Machine{elf.EM_X86_64, elf.EM_386, elf.EM_AARCH64, elf.EM_S390} {
					if p, err := DecodePRStatus(n.Desc, m, elf.ELFCLASS64, order); err == nil {
						p.PC()
						p.SP()
					}
				}
				DecodeQEMUCPUState(n.Desc, order)
			}
			if total > len(data) {
				t.Fatalf("notes hold %d bytes, more than the %d bytes of input", total, len(data))
			}
		}
	})
}
