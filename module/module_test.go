package module_test

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/walk"
)

// newKernel returns a kernel with struct module as 6.4+ (mem[]) or as
// before (core_layout, init_layout).
func newKernel(memRegions bool) *fk.Kernel {
	k := fk.New(1)
	k.Add(fk.ListHead)
	kallsyms := fk.Struct("struct", "mod_kallsyms",
		fk.M("symtab", fk.Ptr(fk.Void)), fk.M("num_symtab", fk.U32), fk.M("strtab", fk.Ptr(fk.Char)), fk.M("typetab", fk.Ptr(fk.Char)))
	fields := []fk.F{fk.M("state", fk.I32), fk.M("list", fk.ListHead), fk.M("name", fk.Array(fk.Char, 56))}
	if memRegions {
		mm := fk.Struct("struct", "module_memory", fk.M("base", fk.Ptr(fk.Void)), fk.M("size", fk.U32))
		k.Add(mm, fk.Enum("mod_mem_type", "MOD_TEXT", "MOD_DATA", "MOD_RODATA", "MOD_RO_AFTER_INIT", "MOD_INIT_TEXT", "MOD_INIT_DATA", "MOD_INIT_RODATA"))
		fields = append(fields, fk.M("mem", fk.Array(mm, 7)))
	} else {
		ml := fk.Struct("struct", "module_layout", fk.M("base", fk.Ptr(fk.Void)), fk.M("size", fk.U32), fk.M("text_size", fk.U32))
		k.Add(ml)
		fields = append(fields, fk.M("core_layout", ml), fk.M("init_layout", ml))
	}
	fields = append(fields, fk.M("kallsyms", fk.Ptr(kallsyms)))
	k.Add(kallsyms, fk.Struct("struct", "module", fields...))
	k.Var("modules", "struct list_head")
	return k
}

// addModule allocates a struct module with its name and regions.
func addModule(k *fk.Kernel, name string, regions ...[2]uint64) uint64 {
	m := k.New("struct module")
	k.SetString(m, "struct module", "name", name)
	_, mem := k.Types["struct module_memory"]
	for i, r := range regions {
		path := []string{"core_layout", "init_layout"}[min(i, 1)]
		if mem {
			path = "mem[" + string(rune('0'+i)) + "]"
		}
		k.Set(m, "struct module", path+".base", r[0])
		k.Set(m, "struct module", path+".size", r[1])
	}
	return m
}

func link(k *fk.Kernel, mods ...uint64) {
	nodes := []uint64{k.Vars["modules"].Addr}
	for _, m := range mods {
		nodes = append(nodes, m+k.Offset("struct module", "list"))
	}
	k.Link(nodes...)
}

func TestListMem(t *testing.T) {
	k := newKernel(true)
	a := addModule(k, "ext4", [2]uint64{0xffffffffc0100000, 0x1000}, [2]uint64{0xffffffffc0200000, 0x200}, [2]uint64{0xffffffffc0300000, 0x30}, [2]uint64{0xffffffffc0400000, 0x4}, [2]uint64{0xffffffffc0500000, 0x5000})
	b := addModule(k, "crc16", [2]uint64{0xffffffffc0600000, 0x100})
	link(k, a, b)
	if l, err := module.Layout(k.C); err != nil || l != module.LayoutMem {
		t.Fatalf("Layout = %q, %v", l, err)
	}
	mods, err := module.List(k.C)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 2 || mods[0].Name != "ext4" || mods[1].Name != "crc16" || mods[0].Addr != a || mods[1].Addr != b {
		t.Fatalf("modules %+v", mods)
	}
	// The core: every region but MOD_INIT_*; the base is MOD_TEXT's.
	if m := mods[0]; m.Base != 0xffffffffc0100000 || m.Size != 0x1000+0x200+0x30+0x4 {
		t.Errorf("ext4: base %#x size %#x", m.Base, m.Size)
	}
	if r := mods[0].Regions; len(r) != 7 || r[4].Name != "MOD_INIT_TEXT" || !r[4].Init || r[3].Init || r[0].Name != "MOD_TEXT" {
		t.Errorf("regions %+v", r)
	}
}

func TestListCoreLayout(t *testing.T) {
	k := newKernel(false)
	a := addModule(k, "virtio_net", [2]uint64{0xffffffffc0010000, 0x9000}, [2]uint64{0xffffffffc0020000, 0x777})
	link(k, a)
	if l, _ := module.Layout(k.C); l != module.LayoutCore {
		t.Fatalf("Layout = %q", l)
	}
	mods, err := module.List(k.C)
	if err != nil {
		t.Fatal(err)
	}
	want := module.Module{Addr: a, Name: "virtio_net", Base: 0xffffffffc0010000, Size: 0x9000, Regions: []module.Region{
		{Name: "core_layout", Base: 0xffffffffc0010000, Size: 0x9000}, {Name: "init_layout", Base: 0xffffffffc0020000, Size: 0x777, Init: true}}}
	if !reflect.DeepEqual(mods, []module.Module{want}) {
		t.Errorf("got %+v\nwant %+v", mods, want)
	}
}

func TestListBroken(t *testing.T) {
	k := newKernel(true)
	a := addModule(k, "a")
	b := addModule(k, "b")
	link(k, a, b)
	// b's next leads back to a: a loop without the head.
	k.Put64(b+k.Offset("struct module", "list"), a+k.Offset("struct module", "list"))
	mods, err := module.List(k.C)
	var we *walk.Error
	if !errors.As(err, &we) || !errors.Is(err, walk.ErrCycle) {
		t.Fatalf("err = %v, want a walk cycle", err)
	}
	if len(mods) != 2 {
		t.Errorf("modules before the loop: %d, want 2", len(mods))
	}
	// A link into unmapped memory: an error naming the address.
	k.Put64(b+k.Offset("struct module", "list"), 0xffff999900000000)
	mods, err = module.List(k.C)
	if err == nil || !strings.Contains(err.Error(), "0xffff999900000000") || len(mods) != 2 {
		t.Errorf("unmapped link: %d modules, err %v", len(mods), err)
	}
	if _, err := module.List(nil); err == nil {
		t.Error("List(nil) did not fail")
	}
}

// symtab lays out an Elf64_Sym table, its string table and typetab.
func symtab(k *fk.Kernel, m uint64, syms []ktype.Symbol, global []bool, types string) {
	var strtab []byte = []byte{0}
	raw := make([]byte, module.Elf64SymSize*(len(syms)+1))
	for i, s := range syms {
		e := raw[(i+1)*module.Elf64SymSize:]
		binary.LittleEndian.PutUint32(e, uint32(len(strtab)))
		strtab = append(append(strtab, s.Name...), 0)
		bind := byte(0)
		if global[i] {
			bind = 1
		}
		e[4] = bind<<4 | 2 // STT_FUNC
		binary.LittleEndian.PutUint16(e[6:], 1)
		binary.LittleEndian.PutUint64(e[8:], s.Addr)
		binary.LittleEndian.PutUint64(e[16:], s.Size)
	}
	st := k.Alloc(uint64(len(raw)), 8)
	k.Mem.Write(st, raw)
	str := k.Alloc(uint64(len(strtab)), 8)
	k.Mem.Write(str, strtab)
	ks := k.New("struct mod_kallsyms")
	k.Set(ks, "struct mod_kallsyms", "symtab", st)
	k.Set(ks, "struct mod_kallsyms", "num_symtab", uint64(len(syms)+1))
	k.Set(ks, "struct mod_kallsyms", "strtab", str)
	if types != "" {
		tt := k.Alloc(uint64(len(types)+1), 8)
		k.Mem.Write(tt, []byte(" "+types))
		k.Set(ks, "struct mod_kallsyms", "typetab", tt)
	}
	k.Set(m, "struct module", "kallsyms", ks)
}

func TestSymbols(t *testing.T) {
	k := newKernel(true)
	m := addModule(k, "ext4")
	link(k, m)
	in := []ktype.Symbol{{Name: "ext4_fill_super", Addr: 0xffffffffc0101000, Size: 0x400}, {Name: "ext4_fs_type", Addr: 0xffffffffc0180000, Size: 0x40}, {Name: "", Addr: 0xffffffffc0102000}, {Name: "undefined", Addr: 0}}
	symtab(k, m, in, []bool{false, true, false, false}, "tdtt")
	mods, err := module.List(k.C)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := module.Symbols(k.C, mods[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []ktype.Symbol{
		{Name: "ext4_fill_super", Addr: 0xffffffffc0101000, Size: 0x400, Kind: 't', Type: ktype.SymFunc, Module: "ext4"},
		{Name: "ext4_fs_type", Addr: 0xffffffffc0180000, Size: 0x40, Kind: 'D', Type: ktype.SymObject, Module: "ext4"},
	}
	if !reflect.DeepEqual(syms, want) {
		t.Errorf("got %+v\nwant %+v", syms, want)
	}
	// Without a typetab, letters come from the ELF type (all functions
	// here); the global one is upper case.
	symtab(k, m, in[:2], []bool{false, true}, "")
	syms, err = module.Symbols(k.C, mods[0])
	if err != nil || len(syms) != 2 || syms[0].Kind != 't' || syms[1].Kind != 'T' {
		t.Errorf("without typetab: %+v, %v", syms, err)
	}
	// A table of an absurd size is refused, naming the address.
	ks := k.Get64(m + k.Offset("struct module", "kallsyms"))
	k.Set(ks, "struct mod_kallsyms", "num_symtab", 1<<30)
	if _, err := module.Symbols(k.C, mods[0]); err == nil || !strings.Contains(err.Error(), "entries") {
		t.Errorf("huge table: %v", err)
	}
	// A table in unmapped memory: the read's error.
	k.Set(ks, "struct mod_kallsyms", "num_symtab", 3)
	k.Set(ks, "struct mod_kallsyms", "symtab", 0xffff999900000000)
	if _, err := module.Symbols(k.C, mods[0]); err == nil || !strings.Contains(err.Error(), "0xffff999900000000") {
		t.Errorf("unmapped table: %v", err)
	}
}

func TestParseSymtab(t *testing.T) {
	if _, err := module.ParseSymtab(make([]byte, 25), nil, nil); !errors.Is(err, module.ErrSymtab) {
		t.Errorf("25 bytes: %v", err)
	}
	if s, ok := module.CString([]byte("ab\x00cd"), 3); ok {
		t.Errorf("unterminated string read as %q", s)
	}
	if s, ok := module.CString([]byte("ab\x00cd"), 0); !ok || s != "ab" {
		t.Errorf("CString = %q, %v", s, ok)
	}
	if _, ok := module.CString([]byte("ab"), 7); ok {
		t.Error("offset past the table read")
	}
}

func TestReadSymbols(t *testing.T) {
	k := newKernel(true)
	a := addModule(k, "a")
	b := addModule(k, "b") // no kallsyms: its table is unreadable
	link(k, a, b)
	symtab(k, a, []ktype.Symbol{{Name: "a_init", Addr: 0xffffffffc0001000, Size: 16}}, []bool{true}, "t")
	mods, err := module.List(k.C)
	if err != nil {
		t.Fatal(err)
	}
	syms, err := module.ReadSymbols(k.C, mods)
	if err == nil || !strings.Contains(err.Error(), "module b") {
		t.Errorf("err = %v, want module b's", err)
	}
	if mods[0].KallsymsSymbols != 1 || mods[1].KallsymsSymbols != 0 || len(syms[a]) != 1 || syms[a][0].Name != "a_init" || syms[a][0].Module != "a" {
		t.Errorf("modules %+v, symbols %+v", mods, syms)
	}
}
