package module_test

import (
	"encoding/binary"
	"testing"

	"github.com/vmcoretools/vmcore/module"
)

// FuzzParseSymtab decodes arbitrary symbol tables, type letters and string
// tables: no panic, and every symbol kept is defined, named and not at 0.
func FuzzParseSymtab(f *testing.F) {
	raw := make([]byte, 3*module.Elf64SymSize)
	binary.LittleEndian.PutUint32(raw[module.Elf64SymSize:], 1)
	raw[module.Elf64SymSize+4] = 0x12
	binary.LittleEndian.PutUint16(raw[module.Elf64SymSize+6:], 1)
	binary.LittleEndian.PutUint64(raw[module.Elf64SymSize+8:], 0xffffffffc0001000)
	f.Add(raw, []byte("  t"), []byte("\x00init_module\x00x"))
	f.Add(raw[:25], []byte(nil), []byte(""))
	f.Fuzz(func(t *testing.T, raw, types, strtab []byte) {
		syms, err := module.ParseSymtab(raw, types, func(off uint32) (string, error) {
			s, _ := module.CString(strtab, off)
			return s, nil
		})
		if err != nil {
			if syms != nil {
				t.Fatal("symbols with an error")
			}
			return
		}
		if len(syms) >= max(len(raw)/module.Elf64SymSize, 1) {
			t.Fatalf("%d symbols from %d entries", len(syms), len(raw)/module.Elf64SymSize)
		}
		for _, s := range syms {
			if s.Addr == 0 || s.Name == "" || len(s.Name) > module.MaxSymbolName {
				t.Fatalf("bad symbol %+v", s)
			}
		}
	})
}
