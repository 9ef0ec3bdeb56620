package value

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/ktype"
)

// fakeMem is kernel memory for the tiny test program: the image's static
// data, the list links _start would have set, a per-CPU area per CPU and a
// zeroed page; everything else is unreadable.
type fakeMem struct {
	f       *dwarfsym.File
	patches map[uint64][]byte
}

var errUnmapped = errors.New("not mapped")

func (m *fakeMem) ReadAt(p []byte, off int64) (int, error) {
	addr := uint64(off)
next:
	for i := range p {
		a := addr + uint64(i)
		for base, b := range m.patches {
			if a >= base && a-base < uint64(len(b)) {
				p[i] = b[a-base]
				continue next
			}
		}
		if _, err := m.f.ReadStatic(p[i:i+1], a); err != nil {
			return i, fmt.Errorf("%w: %v", errUnmapped, err)
		}
	}
	return len(p), nil
}

const (
	percpuBase = 0xffff888000100000
	zeroPage   = 0xffff888000200000
)

func setup(t *testing.T) *Context {
	t.Helper()
	f, err := dwarfsym.Open("../dwarfsym/testdata/tiny.elf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m := &fakeMem{f: f, patches: map[uint64][]byte{}}
	c := New(f.Source(), m)
	it, _ := f.Lookup("init_task")
	st, _ := f.Lookup("second_task")
	off, err := f.Offset("struct task", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	put := func(addr, v uint64) {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, v)
		m.patches[addr] = b
	}
	initTasks, secondTasks := it.Addr+uint64(off), st.Addr+uint64(off)
	put(initTasks, secondTasks)
	put(initTasks+8, secondTasks)
	put(secondTasks, initTasks)
	put(secondTasks+8, initTasks)
	for cpu := 0; cpu < 2; cpu++ {
		area := make([]byte, 16)
		binary.LittleEndian.PutUint64(area[8:], uint64(10+cpu)) // runqueue_len
		binary.LittleEndian.PutUint64(area[0:], st.Addr)        // current_task
		m.patches[percpuBase+uint64(cpu)*0x1000] = area
	}
	m.patches[zeroPage] = make([]byte, 4096)
	c.PerCPUOffset = func(cpu int) (uint64, error) {
		if cpu > 1 {
			return 0, fmt.Errorf("no CPU %d", cpu)
		}
		return percpuBase + uint64(cpu)*0x1000, nil
	}
	return c
}

func check[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

type checks struct {
	V func(Value, error) Value
	U func(uint64, error) uint64
	I func(int64, error) int64
	S func(string, error) string
	L func([]Value, error) []Value
}

func newChecks(t *testing.T) checks {
	return checks{check[Value](t), check[uint64](t), check[int64](t), check[string](t), check[[]Value](t)}
}

func TestReads(t *testing.T) {
	c := setup(t)
	ck := newChecks(t)
	V, U, I, S, L := ck.V, ck.U, ck.I, ck.S, ck.L
	_, _, _, _, _ = V, U, I, S, L
	it := V(c.Var("init_task"))
	if s := S(V(it.Member("comm")).CString(0)); s != "swapper/0" {
		t.Errorf("init_task.comm = %q", s)
	}
	for path, want := range map[string]uint64{"fl.a": 1, "fl.b": 5, "fl.c": 0xabc, "fl.tail": 7, "raw": 0x1122334455667788, "hi": 0x11223344, "lo": 0x55667788, "st": 1, "matrix[1]": 0} {
		if path == "matrix[1]" {
			continue
		}
		if got := U(V(it.Member(path)).Uint()); got != want {
			t.Errorf("init_task.%s = %#x, want %#x", path, got, want)
		}
	}
	if d := I(V(it.Member("fl.d")).Int()); d != -3 {
		t.Errorf("init_task.fl.d = %d, want -3", d)
	}
	m := V(it.Member("matrix"))
	if v := I(V(V(m.Index(1)).Index(2)).Int()); v != 6 {
		t.Errorf("matrix[1][2] = %d", v)
	}
	if _, err := m.Index(2); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("matrix[2]: %v", err)
	}
	// Follow the task list from init_task to second_task.
	next := V(it.Member("tasks.next"))
	st := V(next.ContainerOf("struct task", "tasks"))
	if pid := I(V(st.Member("pid")).Int()); pid != 42 {
		t.Errorf("next task pid = %d", pid)
	}
	if s := S(V(st.Member("comm")).CString(0)); s != "kworker/0:1" {
		t.Errorf("next task comm = %q", s)
	}
	// Through a pointer: second_task.parent->name is a char *.
	if s := S(V(st.Member("parent.name")).CString(0)); s != "init" {
		t.Errorf("parent->name = %q", s)
	}
	head := it.Addr + uint64(I(ktype.Offset(c.Types, "struct task", "tasks")))
	all := L(c.ListEntries(head, "struct task", "tasks", 0))
	if len(all) != 1 || all[0].Addr != st.Addr {
		t.Errorf("ListEntries = %+v", all)
	}
	// Per-CPU.
	for cpu, want := range []uint64{10, 11} {
		v := V(c.PerCPU("runqueue_len", cpu))
		if got := U(v.Uint()); got != want {
			t.Errorf("runqueue_len:%d = %d", cpu, got)
		}
	}
	cur := V(c.PerCPU("current_task", 1))
	if s := S(V(cur.Member("comm")).CString(0)); s != "kworker/0:1" {
		t.Errorf("current_task:1->comm = %q", s)
	}
	if _, err := c.Var("runqueue_len"); err == nil {
		t.Error("Var on a per-CPU variable did not fail")
	}
}

func TestReadErrors(t *testing.T) {
	c := setup(t)
	ck := newChecks(t)
	V, U, I, S, L := ck.V, ck.U, ck.I, ck.S, ck.L
	_, _, _, _, _ = V, U, I, S, L
	v := V(c.At("struct task", 0xffffc90000001000))
	_, err := V(v.Member("pid")).Int()
	var re *ReadError
	if !errors.As(err, &re) || re.Addr != 0xffffc90000001008 || !errors.Is(err, errUnmapped) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"0xffffc90000001008", "->pid", "not mapped", "4 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	it := V(c.Var("init_task"))
	_, err = V(it.Member("parent")).Deref()
	if err == nil || !strings.Contains(err.Error(), "init_task.parent is a NULL pointer") {
		t.Errorf("Deref NULL: %v", err)
	}
	if _, err := V(it.Member("pid")).CString(0); !errors.Is(err, ErrNotString) {
		t.Errorf("CString on int: %v", err)
	}
}

func TestFormat(t *testing.T) {
	c := setup(t)
	ck := newChecks(t)
	V, U, I, S, L := ck.V, ck.U, ck.I, ck.S, ck.L
	_, _, _, _, _ = V, U, I, S, L
	it := V(c.Var("init_task"))
	st := V(c.Var("second_task"))
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{V(it.Member("comm")), `"swapper/0\000\000\000\000\000\000"`},
		{V(st.Member("comm")), `"kworker/0:1\000\000\000\000"`},
		{V(c.At("struct task", zeroPage)), ""},
		{V(it.Member("matrix")), "{{1, 2, 3}, {4, 5, 6}}"},
		{V(it.Member("st")), "SLEEPING"},
		{V(it.Member("fl.d")), "-3"},
		{V(st.Member("parent")), fmt.Sprintf("(struct task *) %#x <init_task>", it.Addr)},
		{V(it.Member("name")), fmt.Sprintf("%#x \"init\"", U(V(it.Member("name")).Uint()))},
	} {
		got, err := tc.v.Format(Format{})
		if err != nil {
			t.Errorf("%s: %v", tc.v.Expr, err)
			continue
		}
		if tc.want == "" {
			if !strings.Contains(got, `comm = "\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000",`) {
				t.Errorf("zero task, crash style: %s", got)
			}
			got, _ = tc.v.Format(Format{Repeats: 10})
			if !strings.Contains(got, `comm = '\000' <repeats 15 times>,`) {
				t.Errorf("zero task: %s", got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.v.Expr, got, tc.want)
		}
	}
	lh := V(it.Member("tasks"))
	got := S(lh.WriteStruct(Format{}))
	off := I(ktype.Offset(c.Types, "struct task", "tasks"))
	want := fmt.Sprintf("struct list_head {\n  next = %#x <second_task+%d>,\n  prev = %#x <second_task+%d>\n}\n", st.Addr+uint64(off), off, st.Addr+uint64(off), off)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("struct list_head (-want +got):\n%s", diff)
	}
	if got := S(st.WriteMembers([]string{"pid", "comm", "parent"}, Format{})); got != fmt.Sprintf("  pid = 42,\n  comm = \"kworker/0:1\\000\\000\\000\\000\",\n  parent = %#x <init_task>,\n", it.Addr) {
		t.Errorf("WriteMembers = %q", got)
	}
	row := L(V(it.Member("matrix[1]")).Elements())
	if len(row) != 3 || I(row[2].Int()) != 6 {
		t.Errorf("matrix[1] elements = %v", row)
	}
	full := S(it.Format(Format{Hex: true}))
	for _, line := range []string{"\n  pid = 0x0,\n", "\n  fl = {\n    a = 0x1,\n    b = 0x5,\n    c = 0xabc,\n    d = 0xd,\n", "\n  name = 0x", ` "init"`, "\n  {\n    raw = 0x1122334455667788,\n", "\n      hi = 0x11223344\n", "tail = 0x7\n"} {
		if !strings.Contains(full, line) {
			t.Errorf("p -x init_task lacks %q:\n%s", line, full)
		}
	}
}

// A constant (a computed value) has the bytes it was given, not memory's:
// its members, elements and formatting come from them, and a pointer in it
// is followed into memory.
func TestConstant(t *testing.T) {
	c := setup(t)
	ck := newChecks(t)
	it := ck.V(c.Var("init_task"))
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	k := c.Constant(it.Type, raw, "copy")
	if !k.IsConstant() || it.IsConstant() {
		t.Fatalf("IsConstant: constant %v, variable %v", k.IsConstant(), it.IsConstant())
	}
	if got, want := ck.S(k.Format(Format{})), ck.S(it.Format(Format{})); got != want {
		t.Errorf("constant copy formats as\n%s\nwant\n%s", got, want)
	}
	if pid := ck.I(ck.V(k.Member("pid")).Int()); pid != 0 {
		t.Errorf("copy.pid = %d", pid)
	}
	if v := ck.I(ck.V(ck.V(ck.V(k.Member("matrix")).Index(1)).Index(2)).Int()); v != 6 {
		t.Errorf("copy.matrix[1][2] = %d", v)
	}
	// Changing the constant's source does not change it.
	clear(raw)
	if d := ck.I(ck.V(k.Member("fl.d")).Int()); d != -3 {
		t.Errorf("copy.fl.d = %d after clearing the source, want -3", d)
	}
	// The list pointer in the copy leads to second_task in memory.
	st := ck.V(ck.V(k.Member("tasks.next")).ContainerOf("struct task", "tasks"))
	if pid := ck.I(ck.V(st.Member("pid")).Int()); pid != 42 {
		t.Errorf("container of copy.tasks.next has pid %d, want 42", pid)
	}
	if _, err := k.Index(0); err == nil {
		t.Error("indexing a struct constant did not fail")
	}
}

// TestFlexibleArray: a structure's trailing x[] (debug/dwarf: a count of
// 0) prints as its address, as gdb prints it; without an address, {}.
func TestFlexibleArray(t *testing.T) {
	c := setup(t)
	i64 := &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long"}}}
	st := &dwarf.StructType{CommonType: dwarf.CommonType{ByteSize: 8}, StructName: "flex", Kind: "struct", Field: []*dwarf.StructField{
		{Name: "n", Type: i64, ByteOffset: 0},
		{Name: "tail", Type: &dwarf.ArrayType{Type: i64, Count: 0}, ByteOffset: 8},
	}}
	got, err := c.Typed(st, zeroPage+16, "struct flex").WriteStruct(Format{})
	if want := fmt.Sprintf("struct flex {\n  n = 0,\n  tail = %#x\n}\n", uint64(zeroPage+24)); err != nil || got != want {
		t.Errorf("WriteStruct = %q, %v; want %q", got, err, want)
	}
}

// TestCrashStringRules: what crash's gdb prints for char arrays and empty
// structs, as crash 8.0.6 printed a 6.12 task_struct (repl's lab task
// group): 256 elements (crash sets print elements to 256), counted in
// whole runs of one byte so that the run crossing the limit is printed to
// its end; a digit after an octal escape escaped too; an empty struct as
// {<No data fields>}; a flexible char array as its address and the string
// there.
func TestCrashStringRules(t *testing.T) {
	c := setup(t)
	char := &dwarf.CharType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 1, Name: "char"}}}
	arr := func(n int64) *dwarf.ArrayType {
		return &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: n}, Type: char, Count: n}
	}
	const base = 0xffff888000300000 // clear of the other patches
	mem := c.Mem.(*fakeMem)
	put := func(b []byte) { mem.patches[base] = b }

	// 30 bytes, then 2000 zeros, then more: the zero run crosses 256 and
	// is printed whole, then "...".
	b := make([]byte, 3000)
	for i := 0; i < 30; i++ {
		b[i] = 'a' + byte(i%26)
	}
	b[2030] = 'x'
	put(b)
	got := mustFormat(t, c.Typed(arr(3000), base, "a"))
	if want := `"` + string(b[:30]) + strings.Repeat(`\000`, 2000) + `"...`; got != want {
		t.Errorf("run across the limit: %d bytes printed, want 2030 and \"...\"", strings.Count(got, `\000`)+30)
	}
	// 300 distinct-ish bytes: cut at 256.
	for i := range b[:300] {
		b[i] = 'a' + byte(i%2)
	}
	put(b[:300])
	if got := mustFormat(t, c.Typed(arr(300), base, "a")); got != `"`+string(b[:256])+`"...` {
		t.Errorf("300 alternating bytes: %q", got)
	}
	// A digit after an octal escape is escaped; after a letter it is not.
	put([]byte{0, '6', '.', '1', 'x', '2', 0})
	if got := mustFormat(t, c.Typed(arr(7), base, "a")); got != `"\000\066.1x2"` {
		t.Errorf("digit after an escape: %s", got)
	}
	// An empty struct; a flexible char array (address and string).
	empty := &dwarf.StructType{StructName: "kmap_ctrl", Kind: "struct"}
	if got := mustFormat(t, c.Typed(empty, base, "e")); got != "{<No data fields>}" {
		t.Errorf("empty struct: %s", got)
	}
	put([]byte{0, 0, 'h', 'i', 0})
	flex := &dwarf.StructType{CommonType: dwarf.CommonType{ByteSize: 2}, StructName: "f", Kind: "struct", Field: []*dwarf.StructField{
		{Name: "n", Type: &dwarf.IntType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 2, Name: "short"}}}},
		{Name: "area", Type: &dwarf.ArrayType{Type: char, Count: -1}, ByteOffset: 2},
	}}
	if got := mustFormat(t, c.Typed(flex, base, "f")); !strings.Contains(got, fmt.Sprintf("area = %#x \"hi\"", uint64(base+2))) {
		t.Errorf("flexible char array: %s", got)
	}
	put([]byte{0, 0, 0})
	if got := mustFormat(t, c.Typed(flex, base, "f")); !strings.Contains(got, fmt.Sprintf("area = %#x \"\"", uint64(base+2))) {
		t.Errorf("flexible char array, empty string: %s", got)
	}
}

func mustFormat(t *testing.T, v Value) string {
	t.Helper()
	s, err := v.Format(Format{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
