package dwarfsym

import (
	"debug/elf"
	"testing"
)

// Module symbols answer what the vmlinux cannot: names and addresses in
// module space, by name and by address, with the module named; the
// vmlinux's own symbols keep precedence, and re-adding a module replaces
// its symbols.
func TestModuleSymbols(t *testing.T) {
	f, err := Open("testdata/tiny.elf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const base = 0xffffffffc0400000
	f.AddModuleSymbols("virtio_blk", []Symbol{
		{Name: "virtblk_probe", Addr: base + 0x100, Size: 0x80, Type: elf.STT_FUNC, Section: ".text", SectionFlags: elf.SHF_EXECINSTR},
		{Name: "virtblk_remove", Addr: base + 0x200, Size: 0x40, Type: elf.STT_FUNC, Section: ".text", SectionFlags: elf.SHF_EXECINSTR},
		{Name: "_stext", Addr: base + 0x300, Size: 8}, // shadowed by the vmlinux's
	})
	if s, ok := f.Lookup("virtblk_probe"); !ok || s.Addr != base+0x100 || s.Module != "virtio_blk" {
		t.Errorf("Lookup: %+v %v", s, ok)
	}
	if all := f.LookupAll("virtblk_remove"); len(all) != 1 || all[0].Module != "virtio_blk" {
		t.Errorf("LookupAll: %+v", all)
	}
	if s, ok := f.Lookup("_stext"); !ok || s.Module != "" {
		t.Errorf("_stext: the module's shadowed the vmlinux's: %+v", s)
	}
	s, off, ok := f.SymbolAt(base + 0x123)
	if !ok || s.Name != "virtblk_probe" || off != 0x23 || s.Kind() != 't' {
		t.Errorf("SymbolAt in virtblk_probe: %+v %#x %v (kind %c)", s, off, ok, s.Kind())
	}
	if _, _, ok := f.SymbolAt(base + 0x1a0); ok {
		t.Error("SymbolAt between two functions named one")
	}
	if n := f.ModuleSymbolCount(); n != 3 {
		t.Errorf("count %d", n)
	}
	all, err := f.Symbols()
	if err != nil || all[len(all)-1].Module != "virtio_blk" {
		t.Errorf("Symbols does not end with the module's: %v", err)
	}
	f.AddModuleSymbols("virtio_blk", []Symbol{{Name: "only", Addr: base, Size: 1}})
	if _, ok := f.Lookup("virtblk_probe"); ok || f.ModuleSymbolCount() != 1 {
		t.Error("re-adding a module kept its old symbols")
	}
}
