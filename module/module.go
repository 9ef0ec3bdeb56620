package module

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// MaxModules bounds the module list walk against a corrupt list.
const MaxModules = 1 << 14

// maxName bounds a module's name (MODULE_NAME_LEN is 56 on 64-bit).
const maxName = 64

// Module is one loaded module.
type Module struct {
	// Addr is the address of the struct module.
	Addr uint64 `json:"addr"`
	// Name is the module's name ("ext4").
	Name string `json:"name"`
	// Base is the base of the module's core text: core_layout.base
	// before 6.4, mem[MOD_TEXT].base since.
	Base uint64 `json:"base"`
	// Size is the size of the module's core: core_layout.size before
	// 6.4, the sum of the core regions' sizes (every mem[] region but the
	// init ones) since.
	Size uint64 `json:"size"`
	// Regions are the module's memory regions as the kernel keeps them:
	// mem[] by the names of enum mod_mem_type (6.4+: "MOD_TEXT",
	// "MOD_DATA", ...), or "core_layout" and "init_layout" before.
	Regions []Region `json:"regions"`
	// ObjectFile is the module's object file with its debuginfo, ""
	// while none is loaded (crash's mod -s loads them; this package
	// does not).
	ObjectFile string `json:"object_file"`
	// KallsymsSymbols is the number of symbols read from the module's
	// own in-memory table (crash's [CONFIG_KALLSYMS]); 0 until
	// ReadSymbols has read them, or when the table is unreadable.
	KallsymsSymbols int `json:"kallsyms_symbols"`
	// Taints is the module's own taint flags (struct module.taints),
	// numbered as the kernel's (system.TaintLetters: bit 0 P, a
	// proprietary licence; 12 O, out of tree; 13 E, unsigned); nil when
	// the kernel's struct module has no such member.
	Taints *uint64 `json:"taints,omitempty"`
}

// Region is one of a module's memory regions.
type Region struct {
	Name string `json:"name"`
	Base uint64 `json:"base"`
	Size uint64 `json:"size"`
	// Init is true for the regions the kernel frees once the module is
	// initialised (init_layout, MOD_INIT_*).
	Init bool `json:"init,omitempty"`
}

// Text base layouts: what Module.Base is.
const (
	// LayoutCore: the kernel keeps core_layout and init_layout (before
	// 6.4); crash heads Base "BASE".
	LayoutCore = "core_layout"
	// LayoutMem: the kernel keeps mem[MOD_MEM_NUM_TYPES] (6.4+); crash
	// heads Base "TEXT_BASE".
	LayoutMem = "mem"
)

// Layout tells how the kernel of c describes a module's memory: LayoutCore
// or LayoutMem, from struct module's members.
func Layout(c *value.Context) (string, error) {
	t, err := c.Types.Type("struct module")
	if err != nil {
		return "", err
	}
	if _, err := ktype.FindMember(t, "core_layout"); err == nil {
		return LayoutCore, nil
	}
	if _, err := ktype.FindMember(t, "mem"); err == nil {
		return LayoutMem, nil
	}
	return "", errors.New("module: struct module has neither core_layout nor mem[]")
}

// List walks the kernel's modules list, in list order (the most recently
// loaded first). A module that cannot be read ends the walk: the modules
// before it are returned with the error, which names the address.
func List(c *value.Context) ([]Module, error) {
	if c == nil {
		return nil, errors.New("module: no kernel types")
	}
	head, err := c.Var("modules")
	if err != nil {
		return nil, fmt.Errorf("module: the kernel has no module list: %w", err)
	}
	var out []Module
	for m, err := range walk.List(head, "struct module", "list", walk.Max(MaxModules)) {
		if err != nil {
			return out, fmt.Errorf("module: walking the module list: %w", err)
		}
		mod, err := Read(m)
		if err != nil {
			return out, err
		}
		out = append(out, mod)
	}
	return out, nil
}

// Read reads one struct module.
func Read(m value.Value) (Module, error) {
	mod := Module{Addr: m.Addr}
	nameV, err := m.Member("name")
	if err == nil {
		mod.Name, err = nameV.CString(maxName)
	}
	if err != nil {
		return mod, fmt.Errorf("module: module at %#x: %w", m.Addr, err)
	}
	if mod.Regions, err = regions(m); err != nil {
		return mod, fmt.Errorf("module: module %s at %#x: %w", mod.Name, m.Addr, err)
	}
	if tv, err := m.Member("taints"); err == nil {
		if t, err := tv.Uint(); err == nil {
			mod.Taints = &t
		}
	}
	for i, r := range mod.Regions {
		if i == 0 {
			mod.Base = r.Base
		}
		if !r.Init {
			mod.Size += r.Size
		}
	}
	return mod, nil
}

// regions reads core_layout and init_layout (before 6.4) or mem[] (6.4+).
func regions(m value.Value) ([]Region, error) {
	if _, err := m.Member("core_layout"); err == nil {
		var out []Region
		for _, name := range []string{"core_layout", "init_layout"} {
			l, err := m.Member(name)
			if err != nil {
				if name == "init_layout" {
					break
				}
				return nil, err
			}
			r, err := region(l, name)
			if err != nil {
				return nil, err
			}
			r.Init = name == "init_layout"
			out = append(out, r)
		}
		return out, nil
	}
	mem, err := m.Member("mem")
	if err != nil {
		return nil, err
	}
	at, ok := ktype.Strip(mem.Type).(*dwarf.ArrayType)
	if !ok || at.Count <= 0 || at.Count > 64 {
		return nil, fmt.Errorf("struct module.mem is not an array of regions")
	}
	names := memTypeNames(m.Context())
	var out []Region
	for i := 0; i < int(at.Count); i++ {
		e, err := mem.Index(i)
		if err != nil {
			return nil, err
		}
		name := names[int64(i)]
		if name == "" {
			name = fmt.Sprintf("mem[%d]", i)
		}
		r, err := region(e, name)
		if err != nil {
			return nil, err
		}
		// MOD_INIT_TEXT is 4 where the enum is not known.
		r.Init = strings.HasPrefix(name, "MOD_INIT_") || names == nil && i >= 4
		out = append(out, r)
	}
	return out, nil
}

func region(v value.Value, name string) (Region, error) {
	r := Region{Name: name}
	b, err := v.Member("base")
	if err != nil {
		return r, err
	}
	if r.Base, err = b.Uint(); err != nil {
		return r, err
	}
	s, err := v.Member("size")
	if err != nil {
		return r, err
	}
	r.Size, err = s.Uint()
	return r, err
}

// memTypeNames maps enum mod_mem_type's values to their names; nil when
// the kernel's types lack it.
func memTypeNames(c *value.Context) map[int64]string {
	t, err := c.Types.Type("enum mod_mem_type")
	if err != nil {
		return nil
	}
	et, ok := ktype.Strip(t).(*dwarf.EnumType)
	if !ok {
		return nil
	}
	out := map[int64]string{}
	for _, v := range et.Val {
		out[v.Val] = v.Name
	}
	return out
}
