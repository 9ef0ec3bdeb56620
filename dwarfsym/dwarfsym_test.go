package dwarfsym

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const tinyPath = "testdata/tiny.elf"

func openTiny(t *testing.T) *File {
	t.Helper()
	f, err := Open(tinyPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// nmSymbols reads the symbol table with debug/elf, independently of ours.
func nmSymbols(t *testing.T) map[string]elf.Symbol {
	t.Helper()
	ef, err := elf.Open(tinyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]elf.Symbol{}
	for _, s := range syms {
		m[s.Name] = s
	}
	return m
}

func TestBuildIDAndBanner(t *testing.T) {
	f := openTiny(t)
	id, err := f.BuildID()
	if err != nil {
		t.Fatal(err)
	}
	if id != "f841270601c4a7c606ea3ca434fc0c14d8b99348" {
		t.Errorf("BuildID = %q", id)
	}
	b, err := f.Banner()
	if err != nil {
		t.Fatal(err)
	}
	if b != "Linux version 6.1.0-tiny (gen.sh) #1 SMP\n" {
		t.Errorf("Banner = %q", b)
	}
	if r, _ := f.Release(); r != "6.1.0-tiny" {
		t.Errorf("Release = %q", r)
	}
}

func TestSymbols(t *testing.T) {
	f := openTiny(t)
	ref := nmSymbols(t)
	it := ref["init_task"]
	s, ok := f.Lookup("init_task")
	if !ok || s.Addr != it.Value || s.Size != it.Size || s.Kind() != 'D' || s.PerCPU {
		t.Fatalf("Lookup(init_task) = %+v, %v; want addr %#x size %d", s, ok, it.Value, it.Size)
	}
	for _, tc := range []struct {
		addr uint64
		name string
		off  uint64
	}{
		{it.Value, "init_task", 0},
		{it.Value + 0x18, "init_task", 0x18},
		{it.Value + it.Size - 1, "init_task", it.Size - 1},
		{ref["task_fn"].Value + 3, "task_fn", 3},
		{ref["_start"].Value, "_start", 0},
	} {
		got, off, ok := f.SymbolAt(tc.addr)
		if !ok || got.Name != tc.name || off != tc.off {
			t.Errorf("SymbolAt(%#x) = %s+%#x, %v; want %s+%#x", tc.addr, got.Name, off, ok, tc.name, tc.off)
		}
	}
	if _, _, ok := f.SymbolAt(0x1000); ok {
		t.Error("SymbolAt(0x1000) found a symbol below every kernel symbol")
	}
	if got := f.FormatAddr(ref["task_fn"].Value + 3); got != "task_fn+0x3" {
		t.Errorf("FormatAddr = %q", got)
	}
	pc, ok := f.Lookup("runqueue_len")
	if !ok || !pc.PerCPU || pc.Addr != 8 {
		t.Errorf("runqueue_len = %+v; want per-CPU offset 8", pc)
	}
	// KASLR: text and data move, per-CPU offsets do not.
	f.SetRelocation(0x2a00000)
	defer f.SetRelocation(0)
	s2, _ := f.Lookup("init_task")
	if s2.Addr != it.Value+0x2a00000 {
		t.Errorf("relocated init_task at %#x", s2.Addr)
	}
	if got, off, ok := f.SymbolAt(it.Value + 0x2a00000 + 4); !ok || got.Name != "init_task" || off != 4 {
		t.Errorf("relocated SymbolAt = %s+%d %v", got.Name, off, ok)
	}
	if pc2, _ := f.Lookup("runqueue_len"); pc2.Addr != 8 {
		t.Errorf("per-CPU symbol moved to %#x", pc2.Addr)
	}
}

func TestTypesAndMembers(t *testing.T) {
	f := openTiny(t)
	for _, name := range []string{"struct task", "task"} {
		n, err := f.Sizeof(name)
		if err != nil || n != 120 {
			t.Errorf("Sizeof(%q) = %d, %v; want 120", name, n, err)
		}
	}
	st, err := f.Type("struct task")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		off, bitOff, bits int64
		decl              string
	}
	for path, w := range map[string]want{
		"state":      {0, 0, 0, "long state"},
		"pid":        {8, 0, 0, "pid_t pid"},
		"comm":       {12, 0, 0, "char comm[16]"},
		"tasks.next": {32, 0, 0, "struct list_head *next"},
		"tasks.prev": {40, 0, 0, "struct list_head *prev"},
		"fl.a":       {48, 0, 1, "unsigned int a"},
		"fl.b":       {48, 1, 3, "unsigned int b"},
		"fl.c":       {48, 4, 12, "unsigned int c"},
		"fl.d":       {50, 0, 4, "int d"},
		"fl.tail":    {51, 0, 0, "unsigned char tail"},
		"raw":        {56, 0, 0, "u64 raw"},
		"hi":         {60, 0, 0, "unsigned int hi"},
		"fn":         {80, 0, 0, "void (*fn)(struct task *, int)"},
		"matrix":     {88, 0, 0, "int matrix[2][3]"},
		"matrix[1]":  {100, 0, 0, "int matrix[3]"},
		"name":       {112, 0, 0, "const char *name"},
		"parent":     {72, 0, 0, "struct task *parent"},
		"st":         {64, 0, 0, "enum state st"},
	} {
		m, err := FindMember(st, path)
		if err != nil {
			t.Errorf("FindMember(%q): %v", path, err)
			continue
		}
		got := want{m.Offset, m.BitOffset, m.BitSize, Declare(m.Type, m.Name)}
		if path == "matrix[1]" {
			got.decl = Declare(m.Type, "matrix")
		}
		if diff := cmp.Diff(w, got, cmp.AllowUnexported(want{})); diff != "" {
			t.Errorf("FindMember(%q) (-want +got):\n%s", path, diff)
		}
	}
	if _, err := FindMember(st, "nosuch"); err == nil || !strings.Contains(err.Error(), `no member "nosuch"`) {
		t.Errorf("FindMember(nosuch) = %v", err)
	}
	if _, err := f.Type("struct nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Type(struct nosuch) = %v, want ErrNotFound", err)
	}
	pt, err := f.Type("struct task **")
	if err != nil || Declare(pt, "") != "struct task **" || pt.Size() != 8 {
		t.Errorf("Type(struct task **) = %v, %v", pt, err)
	}
	if et, err := f.Type("enum state"); err != nil || len(Strip(et).(*dwarf.EnumType).Val) != 3 {
		t.Errorf("Type(enum state) = %v, %v", et, err)
	}
	if td, err := f.Type("pid_t"); err != nil || td.Size() != 4 {
		t.Errorf("Type(pid_t) = %v, %v", td, err)
	}
}

func TestLayout(t *testing.T) {
	f := openTiny(t)
	lt, err := f.Type("struct list_head")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteLayout(&b, lt, false); err != nil {
		t.Fatal(err)
	}
	want := "struct list_head {\n   [0] struct list_head *next;\n   [8] struct list_head *prev;\n}\nSIZE: 16\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("layout (-want +got):\n%s", diff)
	}
	st, _ := f.Type("struct task")
	b.Reset()
	WriteLayout(&b, st, true)
	for _, line := range []string{"\n   [0xc] char comm[16];\n", "\n  [0x30] struct flags fl;\n", "\n         union {\n", "\n  [0x3c]         unsigned int hi;\n", "\n             };\n", "SIZE: 0x78\n"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("struct -o -x output lacks %q:\n%s", line, b.String())
		}
	}
}

func TestVariables(t *testing.T) {
	f := openTiny(t)
	v, err := f.Variable("init_task")
	if err != nil {
		t.Fatal(err)
	}
	if Declare(v.Type, v.Name) != "struct task init_task" || v.PerCPU || v.Addr != nmSymbols(t)["init_task"].Value {
		t.Errorf("Variable(init_task) = %+v", v)
	}
	c, err := f.Variable("current_task")
	if err != nil {
		t.Fatal(err)
	}
	if !c.PerCPU || c.Addr != 0 || Declare(c.Type, "") != "struct task *" {
		t.Errorf("Variable(current_task) = %+v", c)
	}
	// Declared "extern struct list_head waitqueues[];", defined with 4.
	w, err := f.Variable("waitqueues")
	if err != nil || Declare(w.Type, w.Name) != "struct list_head waitqueues[4]" || w.Type.Size() != 64 {
		t.Errorf("Variable(waitqueues) = %+v, %v", w, err)
	}
	if _, err := f.Variable("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Variable(nosuch) = %v", err)
	}
	fn, err := f.Function("task_fn")
	if err != nil || fn.Type == nil || Declare(fn.Type, "task_fn") != "void task_fn(struct task *, int)" {
		t.Errorf("Function(task_fn) = %+v, %v", fn, err)
	}
}

func TestLines(t *testing.T) {
	f := openTiny(t)
	fn, _ := f.Lookup("task_fn")
	frames, err := f.Lines(fn.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) == 0 || !strings.HasSuffix(frames[len(frames)-1].File, "tiny.c") || frames[len(frames)-1].Function != "task_fn" {
		t.Fatalf("Lines(task_fn) = %+v", frames)
	}
	// Somewhere in task_fn the inlined add_twice must show, called from
	// task_fn's line 70.
	var inl []Frame
	for a := fn.Addr; a < fn.Addr+fn.Size; a++ {
		fr, err := f.Lines(a)
		if err == nil && len(fr) == 2 {
			inl = fr
			break
		}
	}
	want := []Frame{{Function: "add_twice", File: inl0File(inl), Line: 65, Inlined: true}, {Function: "task_fn", File: inl0File(inl), Line: 70}}
	if diff := cmp.Diff(want, inl); diff != "" {
		t.Errorf("inlined frames (-want +got):\n%s", diff)
	}
	if _, err := f.Lines(0x1234); !errors.Is(err, ErrNoLine) {
		t.Errorf("Lines(0x1234) = %v", err)
	}
}

func inl0File(fr []Frame) string {
	if len(fr) == 0 {
		return "?"
	}
	if !strings.HasSuffix(fr[0].File, "/tiny.c") {
		return "?" + fr[0].File
	}
	return fr[0].File
}

func TestConcurrent(t *testing.T) {
	f := openTiny(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for _, n := range []string{"struct task", "struct list_head", "struct flags", "pid_t", "enum state"} {
				if _, err := f.Type(n); err != nil {
					errs <- err
				}
			}
			if _, err := f.Variable("second_task"); err != nil {
				errs <- err
			}
			if _, _, ok := f.SymbolAt(0xffffffff81000001); !ok {
				errs <- errors.New("SymbolAt failed")
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNoDWARF(t *testing.T) {
	ef, _ := elf.Open(tinyPath)
	defer ef.Close()
	// A stripped copy: same symbols question answered, types refused.
	f := openTiny(t)
	if _, err := f.IndexAll(), error(nil); err != nil {
		t.Fatal(err)
	}
	if st := f.IndexStats(); !st.Complete || st.Units != 1 || st.Names < 8 {
		t.Errorf("IndexStats = %+v", st)
	}
}
