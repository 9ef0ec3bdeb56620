package ktype

import (
	"debug/dwarf"
	"errors"
	"strings"
	"testing"
)

// fakeSource serves a few hand-made types, as a BTF or DWARF source would.
type fakeSource map[string]dwarf.Type

func (f fakeSource) Type(name string) (dwarf.Type, error) {
	if t, ok := f[name]; ok {
		return t, nil
	}
	return nil, errors.New("no type " + name)
}
func (fakeSource) Variable(string) (*Variable, error)     { return nil, errors.New("none") }
func (fakeSource) Lookup(string) (Symbol, bool)           { return Symbol{}, false }
func (fakeSource) SymbolAt(uint64) (Symbol, uint64, bool) { return Symbol{}, 0, false }
func (fakeSource) Relocation() uint64                     { return 0 }

func TestOffsetThroughAnonymousMembers(t *testing.T) {
	u64 := &dwarf.UintType{BasicType: dwarf.BasicType{CommonType: dwarf.CommonType{ByteSize: 8, Name: "long unsigned int"}}}
	inner := &dwarf.StructType{Kind: "struct", CommonType: dwarf.CommonType{ByteSize: 16},
		Field: []*dwarf.StructField{{Name: "a", Type: u64, ByteOffset: 0}, {Name: "b", Type: u64, ByteOffset: 8}}}
	arr := &dwarf.ArrayType{CommonType: dwarf.CommonType{ByteSize: 32}, Type: u64, Count: 4}
	outer := &dwarf.StructType{Kind: "struct", StructName: "s", CommonType: dwarf.CommonType{ByteSize: 72},
		Field: []*dwarf.StructField{{Name: "x", Type: u64}, {Name: "", Type: inner, ByteOffset: 8}, {Name: "v", Type: arr, ByteOffset: 24}}}
	src := fakeSource{"struct s": outer}
	for _, c := range []struct {
		path string
		want int64
	}{{"x", 0}, {"a", 8}, {"b", 16}, {"v", 24}, {"v[2]", 40}} {
		got, err := Offset(src, "struct s", c.path)
		if err != nil || got != c.want {
			t.Errorf("Offset(s, %s) = %d, %v; want %d", c.path, got, err, c.want)
		}
	}
	if _, err := Offset(src, "struct s", "v[4]"); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("v[4]: %v, want out of range", err)
	}
	if _, err := Offset(src, "struct s", "nosuch"); err == nil || !strings.Contains(err.Error(), `no member "nosuch"`) {
		t.Errorf("nosuch: %v", err)
	}
	if _, err := Offset(nil, "struct s", "x"); err == nil {
		t.Error("nil source: no error")
	}
	if n, err := Sizeof(src, "struct s"); err != nil || n != 72 {
		t.Errorf("Sizeof = %d, %v", n, err)
	}
	if d := Declare(outer, "p"); d != "struct s p" {
		t.Errorf("Declare = %q", d)
	}
}
