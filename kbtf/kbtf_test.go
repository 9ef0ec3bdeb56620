//go:build !plan9

package kbtf

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/vmcoretools/vmcore/kallsyms"
	"github.com/vmcoretools/vmcore/ktype"
)

// testBTF builds a small BTF blob: a self-referring struct with
// bitfields, an enum, a typedef, a union, a flexible array, a function
// prototype and a per-CPU variable.
func testBTF(t testing.TB) []byte {
	t.Helper()
	ulong := &btf.Int{Name: "long unsigned int", Size: 8}
	integer := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	state := &btf.Enum{Name: "state", Size: 4, Values: []btf.EnumValue{{Name: "RUNNING", Value: 0}, {Name: "SLEEPING", Value: 1}}}
	task := &btf.Struct{Name: "task", Size: 40}
	task.Members = []btf.Member{
		{Name: "pid", Type: &btf.Typedef{Name: "pid_t", Type: integer}, Offset: 0},
		{Name: "a", Type: ulong, Offset: 32, BitfieldSize: 3},
		{Name: "b", Type: integer, Offset: 35, BitfieldSize: 5},
		{Name: "st", Type: state, Offset: 64},
		{Name: "parent", Type: &btf.Pointer{Target: task}, Offset: 128},
		{Name: "comm", Type: &btf.Array{Index: integer, Type: char, Nelems: 16}, Offset: 192},
		{Name: "", Type: &btf.Union{Size: 0, Members: nil}, Offset: 320},
		{Name: "tail", Type: &btf.Array{Index: integer, Type: ulong, Nelems: 0}, Offset: 320},
	}
	fn := &btf.FuncProto{Return: integer, Params: []btf.FuncParam{{Name: "t", Type: &btf.Pointer{Target: &btf.Const{Type: task}}}, {Type: (*btf.Void)(nil)}}}
	vars := []btf.Type{
		&btf.Var{Name: "runqueue_len", Type: ulong, Linkage: btf.GlobalVar},
		&btf.Func{Name: "do_it", Type: fn, Linkage: btf.GlobalFunc},
	}
	b, err := btf.NewBuilder(append([]btf.Type{task}, vars...), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestTypes(t *testing.T) {
	ty, err := Parse(testBTF(t))
	if err != nil {
		t.Fatal(err)
	}
	task, err := ty.Type("struct task")
	if err != nil {
		t.Fatal(err)
	}
	if got := ktype.Declare(task, "x"); got != "struct task x" {
		t.Errorf("declared %q", got)
	}
	for _, c := range []struct {
		path      string
		off, bits int64
		decl      string
	}{
		{"pid", 0, 0, "pid_t pid"},
		{"a", 4, 3, "unsigned long a : 3"},
		{"b", 4, 5, "int b : 5"},
		{"st", 8, 0, "enum state st"},
		{"parent", 16, 0, "struct task *parent"},
		{"comm", 24, 0, "char comm[16]"},
		{"tail", 40, 0, "unsigned long tail[0]"}, // debug/dwarf gives a flexible array 0 elements
	} {
		m, err := ktype.FindMember(task, c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if m.Offset != c.off || m.BitSize != c.bits {
			t.Errorf("%s at %d (%d bits), want %d (%d bits)", c.path, m.Offset, m.BitSize, c.off, c.bits)
		}
		if got := ktype.Declare(m.Type, c.path); c.bits == 0 && got != c.decl {
			t.Errorf("%s declared %q, want %q", c.path, got, c.decl)
		}
	}
	// b's bits start at bit 35: byte 4, bit 3.
	st := ktype.Strip(task).(*dwarf.StructType)
	if by, bit := ktype.FieldBits(st.Field[2]); by != 4 || bit != 3 {
		t.Errorf("b at byte %d bit %d, want 4 and 3", by, bit)
	}
	// The pointer leads back to the same struct: converted once.
	if p := ktype.Strip(st.Field[4].Type).(*dwarf.PtrType); p.Type != task {
		t.Error("parent's target is not the struct itself")
	}
	for name, want := range map[string]string{
		"task":                "struct task",
		"pid_t":               "pid_t",
		"unsigned long":       "unsigned long",
		"long unsigned int *": "unsigned long *",
		"enum state":          "enum state",
		"struct task **":      "struct task **",
		"void *":              "void *",
		"char":                "char",
	} {
		typ, err := ty.Type(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := ktype.Declare(typ, ""); got != want {
			t.Errorf("%s declared %q, want %q", name, got, want)
		}
	}
	var nf *NotFoundError
	if _, err := ty.Type("struct nosuch"); !errors.As(err, &nf) {
		t.Errorf("struct nosuch: %v", err)
	}
	if _, err := ty.Type("enum task"); !errors.As(err, &nf) {
		t.Errorf("enum task (a struct): %v", err)
	}
	if v, ok := ty.Var("runqueue_len"); !ok || ktype.Declare(v, "") != "unsigned long" {
		t.Errorf("Var runqueue_len = %v, %v", v, ok)
	}
	if _, ok := ty.Var("task"); ok {
		t.Error("a struct is no variable")
	}
	f, ok := ty.Func("do_it")
	if !ok || len(f.ParamType) != 2 {
		t.Fatalf("Func do_it = %v, %v", f, ok)
	}
	if _, dots := f.ParamType[1].(*dwarf.DotDotDotType); !dots {
		t.Errorf("do_it's last parameter is %T, want ...", f.ParamType[1])
	}
	if n := ty.Count(); n < 10 || n > 20 {
		t.Errorf("Count = %d", n)
	}
}

func TestParseErrors(t *testing.T) {
	for name, raw := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not BTF at all, just text"),
		"truncated": testBTF(t)[:40],
	} {
		if _, err := Parse(raw); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := ParseSplit(testBTF(t), nil); err == nil {
		t.Error("split BTF without a base: no error")
	}
}

// FuzzParse reads arbitrary bytes as BTF and converts every type it names:
// nothing may panic or run away.
func FuzzParse(f *testing.F) {
	f.Add(testBTF(f))
	f.Add([]byte{0x9f, 0xeb, 1, 0, 24, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ty, err := Parse(raw)
		if err != nil {
			return
		}
		for _, name := range []string{"struct task", "task", "pid_t", "unsigned long", "enum state", "void *"} {
			if typ, err := ty.Type(name); err == nil {
				ktype.Declare(typ, "x")
				typ.Size()
			}
		}
		ty.Var("runqueue_len")
		ty.Func("do_it")
		ty.Count()
	})
}

// TestSource serves symbols from a kallsyms table and variables' types
// from BTF (per-CPU) or Globals, with sizes from the symbols' extents.
func TestSource(t *testing.T) {
	ty, err := Parse(testBTF(t))
	if err != nil {
		t.Fatal(err)
	}
	syms := &kallsyms.Table{Symbols: []kallsyms.Symbol{
		{Name: "__per_cpu_start", Type: 'D', Addr: 0},
		{Name: "runqueue_len", Type: 'D', Addr: 0x40},
		{Name: "__per_cpu_end", Type: 'D', Addr: 0x1000},
		{Name: "_stext", Type: 'T', Addr: 0xffffffff81000000},
		{Name: "do_it", Type: 'T', Addr: 0xffffffff81000000},
		{Name: "other", Type: 't', Addr: 0xffffffff81000100},
		{Name: "init_x", Type: 'D', Addr: 0xffffffff82000000},
		{Name: "arr", Type: 'D', Addr: 0xffffffff82000100},
		{Name: "untyped", Type: 'd', Addr: 0xffffffff82000140},
		{Name: "__init_end", Type: 'D', Addr: 0xffffffff82800000},
		{Name: "__smp_locks", Type: 'D', Addr: 0xffffffff82800000},
		{Name: "_end", Type: 'B', Addr: 0xffffffff83000000},
	}}
	Globals["init_x"], Globals["arr"] = "struct task", "long unsigned int []"
	defer func() { delete(Globals, "init_x"); delete(Globals, "arr") }()
	src := NewSource(ty, syms, 0x2000000)
	if s, ok := src.Lookup("do_it"); !ok || s.Size != 0x100 || s.Type != ktype.SymFunc {
		t.Errorf("do_it = %+v, %v", s, ok)
	}
	if s, off, ok := src.SymbolAt(0xffffffff81000180); !ok || s.Name != "other" || off != 0x80 {
		t.Errorf("SymbolAt = %+v +%#x, %v", s, off, ok)
	}
	// A linker script's bound is no object: a pointer past it is not
	// shown as "<__init_end+N>" (the vmlinux types it NOTYPE).
	if s, off, ok := src.SymbolAt(0xffffffff828018b0); !ok || s.Type != ktype.SymOther || off != 0x18b0 {
		t.Errorf("SymbolAt past __init_end = %+v +%#x, %v; want a bound (SymOther)", s, off, ok)
	}
	if _, _, ok := src.SymbolAt(0xffffffff84000000); ok {
		t.Error("an address past _end has a symbol")
	}
	v, err := src.Variable("runqueue_len")
	if err != nil || !v.PerCPU || v.Addr != 0x40 || ktype.Declare(v.Type, "") != "unsigned long" {
		t.Errorf("runqueue_len = %+v, %v", v, err)
	}
	if v, err := src.Variable("init_x"); err != nil || v.PerCPU || ktype.Declare(v.Type, "") != "struct task" {
		t.Errorf("init_x = %+v, %v", v, err)
	}
	// arr reaches untyped at +0x40: 8 elements.
	if v, err := src.Variable("arr"); err != nil || v.Type.Size() != 0x40 {
		t.Errorf("arr = %+v, %v", v, err)
	}
	if _, err := src.Variable("untyped"); !errors.Is(err, ErrNoType) || !strings.Contains(err.Error(), "0xffffffff82000140") {
		t.Errorf("untyped: %v", err)
	}
	if _, err := src.Variable("nosuch"); err == nil {
		t.Error("a missing symbol has a variable")
	}
	if src.Relocation() != 0x2000000 {
		t.Error("relocation")
	}
	// Many symbols at one address: the table is indexed in one pass.
	many := &kallsyms.Table{}
	for i := 0; i < 200000; i++ {
		many.Symbols = append(many.Symbols, kallsyms.Symbol{Name: fmt.Sprint("s", i), Type: 't', Addr: 0xffffffff81000000})
	}
	if s, ok := NewSource(ty, many, 0).Lookup("s5"); !ok || s.Size != 0 {
		t.Errorf("s5 = %+v", s)
	}
}

// FuzzParseSplit parses a module's BTF (split on a kernel's) from hostile
// bytes: an error or types, never a panic.
func FuzzParseSplit(f *testing.F) {
	base, err := Parse(testBTF(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(testBTF(f))
	f.Add([]byte{0x9f, 0xeb, 1, 0, 24, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ty, err := ParseSplit(raw, base)
		if err != nil {
			return
		}
		for _, name := range []string{"struct task", "task", "pid_t", "unsigned long"} {
			if typ, err := ty.Type(name); err == nil {
				ktype.Declare(typ, "x")
				typ.Size()
			}
		}
		ty.Count()
	})
}
