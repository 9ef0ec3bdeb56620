//go:build !plan9

package kbtf

import (
	"bytes"
	"debug/dwarf"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// Types is one BTF blob (a kernel's, or a module's split on its kernel's)
// served as debug/dwarf types. It is safe for concurrent use.
type Types struct {
	spec *btf.Spec
	base *Types

	mu    sync.Mutex
	conv  map[btf.Type]dwarf.Type
	count int
}

// Parse reads a kernel's BTF: raw BTF as in the .BTF section.
func Parse(raw []byte) (*Types, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("kbtf: %d bytes of BTF: more than a kernel has (%d)", len(raw), MaxSize)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("kbtf: %w", err)
	}
	return &Types{spec: spec, conv: map[btf.Type]dwarf.Type{}}, nil
}

// ParseSplit reads a module's BTF, which refers to its kernel's (base).
func ParseSplit(raw []byte, base *Types) (*Types, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("kbtf: %d bytes of module BTF: too many (%d at most)", len(raw), MaxSize)
	}
	if base == nil {
		return nil, errors.New("kbtf: a module's BTF needs its kernel's")
	}
	spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), base.spec)
	if err != nil {
		return nil, fmt.Errorf("kbtf: module BTF: %w", err)
	}
	// A split spec's types are distinct values from the base's: they
	// convert in their own map (the base's types reached from them
	// convert again, once per module).
	return &Types{spec: spec, base: base, conv: map[btf.Type]dwarf.Type{}}, nil
}

// Count is the number of types, void included: the highest type ID plus
// one. It is found by a binary search over the IDs (BTF decodes types on
// demand, and counting them one by one would decode them all).
func (t *Types) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.count == 0 {
		t.count = sort.Search(1<<31-1, func(id int) bool {
			_, err := t.spec.TypeByID(btf.TypeID(id))
			return err != nil
		})
	}
	return t.count
}

// Type returns the C type of that name, as ktype.Source.Type takes it:
// "struct task_struct", "union thread_union", "enum pid_type", a typedef
// ("pid_t"), a base type in GCC's spelling or C's ("long unsigned int",
// "unsigned long"), any of those followed by "*"s, or a bare tag
// ("task_struct": typedef, base type, struct, union, enum, in that order).
func (t *Types) Type(name string) (dwarf.Type, error) {
	name = strings.TrimSpace(name)
	stars := 0
	for strings.HasSuffix(name, "*") {
		stars++
		name = strings.TrimSpace(name[:len(name)-1])
	}
	bt, err := t.named(name)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	dt := t.convert(bt)
	t.mu.Unlock()
	for ; stars > 0; stars-- {
		dt = &dwarf.PtrType{CommonType: dwarf.CommonType{ByteSize: 8}, Type: dt}
	}
	return dt, nil
}

// cNames spells C's base type names as GCC (and so BTF) names them.
var cNames = map[string]string{
	"long":               "long int",
	"unsigned long":      "long unsigned int",
	"short":              "short int",
	"unsigned short":     "short unsigned int",
	"long long":          "long long int",
	"unsigned long long": "long long unsigned int",
	"unsigned":           "unsigned int",
	"signed char":        "signed char",
}

// named finds the BTF type a name (without "*"s) names.
func (t *Types) named(name string) (btf.Type, error) {
	if name == "void" {
		return (*btf.Void)(nil), nil
	}
	kind, bare := "", name
	for _, k := range []string{"struct ", "union ", "enum "} {
		if strings.HasPrefix(name, k) {
			kind, bare = strings.TrimSpace(k), strings.TrimSpace(name[len(k):])
		}
	}
	if c, ok := cNames[bare]; ok && kind == "" {
		bare = c
	}
	cands, err := t.spec.AnyTypesByName(bare)
	if err != nil || len(cands) == 0 {
		return nil, &NotFoundError{"type", name}
	}
	order := []string{"typedef", "base", "struct", "union", "enum"}
	if kind != "" {
		order = []string{kind}
	}
	for _, want := range order {
		for _, c := range cands {
			if kindOf(c) == want {
				return c, nil
			}
		}
	}
	return nil, &NotFoundError{"type", name}
}

// kindOf names a BTF type's kind as named's order does.
func kindOf(t btf.Type) string {
	switch t.(type) {
	case *btf.Typedef:
		return "typedef"
	case *btf.Int, *btf.Float:
		return "base"
	case *btf.Struct:
		return "struct"
	case *btf.Union:
		return "union"
	case *btf.Enum:
		return "enum"
	}
	return ""
}

// Var returns the type of a global variable the BTF describes (pahole
// writes the per-CPU variables; newer ones, with global_var, every
// global); ok is false for any other.
func (t *Types) Var(name string) (typ dwarf.Type, ok bool) {
	cands, err := t.spec.AnyTypesByName(name)
	if err != nil {
		return nil, false
	}
	for _, c := range cands {
		if v, isVar := c.(*btf.Var); isVar {
			t.mu.Lock()
			defer t.mu.Unlock()
			return t.convert(v.Type), true
		}
	}
	return nil, false
}

// Func returns the prototype of a kernel function BTF describes.
func (t *Types) Func(name string) (*dwarf.FuncType, bool) {
	cands, err := t.spec.AnyTypesByName(name)
	if err != nil {
		return nil, false
	}
	for _, c := range cands {
		if f, isFunc := c.(*btf.Func); isFunc {
			t.mu.Lock()
			defer t.mu.Unlock()
			ft, ok := t.convert(f.Type).(*dwarf.FuncType)
			return ft, ok
		}
	}
	return nil, false
}
