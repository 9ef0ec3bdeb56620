package module

import (
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// MaxBTF bounds a module's BTF: a module's types split on its kernel's
// are tens of KB; a larger size read from a damaged struct module is
// refused.
const MaxBTF = 16 << 20

// ErrNoBTF is a module loaded without BTF (btf_data NULL), or a kernel
// built without CONFIG_DEBUG_INFO_BTF_MODULES (no btf_data member).
var ErrNoBTF = errors.New("module: no BTF")

// BTF reads a loaded module's BTF from memory, split BTF that refers to
// the kernel's own (CONFIG_DEBUG_INFO_BTF_MODULES). While the module
// initialises it is btf_data_size bytes at struct module's btf_data; once
// it is live the kernel clears btf_data and keeps its own copy, the data of
// the struct btf that the btf_modules list (kernel/bpf/btf.c) pairs with
// the module. For many modules, BTFs walks that list once.
func BTF(c *value.Context, m Module) ([]byte, error) {
	all, errs := BTFs(c, []Module{m})
	if raw, ok := all[m.Addr]; ok {
		return raw, nil
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("module %s: %w", m.Name, ErrNoBTF)
}

// BTFs reads the BTF of each module (see BTF), by struct module address.
// A module without BTF is absent without an error; one whose BTF cannot
// be read is absent with an error naming it.
func BTFs(c *value.Context, mods []Module) (map[uint64][]byte, []error) {
	out := map[uint64][]byte{}
	var errs []error
	var live []Module // btf_data cleared: the copy btf_modules keeps
	for _, m := range mods {
		mv, err := c.At("struct module", m.Addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("module %s: %w", m.Name, err))
			continue
		}
		dataV, err := mv.Member("btf_data")
		if err != nil {
			return out, errs // built without CONFIG_DEBUG_INFO_BTF_MODULES: no module has BTF
		}
		if data, err := dataV.Uint(); err == nil && data != 0 {
			raw, err := readBTF(c, m, mv, "btf_data", "btf_data_size")
			if err != nil {
				errs = append(errs, err)
			} else {
				out[m.Addr] = raw
			}
			continue
		}
		live = append(live, m)
	}
	if len(live) == 0 {
		return out, errs
	}
	byAddr := map[uint64]Module{}
	for _, m := range live {
		byAddr[m.Addr] = m
	}
	head, err := c.Var("btf_modules")
	if err != nil {
		return out, append(errs, fmt.Errorf("module: the kernel's btf_modules list: %w", err))
	}
	for bm, err := range walk.List(head, "struct btf_module", "list", walk.Max(MaxModules)) {
		if err != nil {
			return out, append(errs, fmt.Errorf("module: walking btf_modules: %w", err))
		}
		modV, err := bm.Member("module")
		if err != nil {
			return out, append(errs, err)
		}
		addr, err := modV.Uint()
		m, ok := byAddr[addr]
		if err != nil || !ok {
			continue
		}
		delete(byAddr, addr) // one entry per module
		btfV, err := bm.Member("btf")
		if err != nil {
			return out, append(errs, err)
		}
		btfAddr, err := btfV.Uint()
		if err != nil || btfAddr == 0 {
			continue
		}
		b, err := c.At("struct btf", btfAddr)
		if err != nil {
			errs = append(errs, fmt.Errorf("module %s: %w", m.Name, err))
			continue
		}
		raw, err := readBTF(c, m, b, "data", "data_size")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[m.Addr] = raw
	}
	return out, errs
}

// readBTF reads the BTF a pointer member and a size member of v describe.
func readBTF(c *value.Context, m Module, v value.Value, dataMember, sizeMember string) ([]byte, error) {
	dataV, err := v.Member(dataMember)
	if err != nil {
		return nil, err
	}
	sizeV, err := v.Member(sizeMember)
	if err != nil {
		return nil, err
	}
	data, err := dataV.Uint()
	if err != nil {
		return nil, fmt.Errorf("module %s: %s: %w", m.Name, dataMember, err)
	}
	size, err := sizeV.Uint()
	if err != nil {
		return nil, fmt.Errorf("module %s: %s: %w", m.Name, sizeMember, err)
	}
	switch {
	case data == 0 || size == 0:
		return nil, fmt.Errorf("module %s: %w", m.Name, ErrNoBTF)
	case size > MaxBTF:
		return nil, fmt.Errorf("module %s: %s %d at %#x is more than a module's BTF (%d at most)", m.Name, sizeMember, size, v.Addr, MaxBTF)
	}
	var last [1]byte
	if err := c.Read(last[:], data+size-1, "module BTF"); err != nil {
		// Not all there: say so before allocating for it.
		return nil, fmt.Errorf("module %s: its BTF (%d bytes at %#x): %w", m.Name, size, data, err)
	}
	raw := make([]byte, size)
	if err := c.Read(raw, data, "module BTF"); err != nil {
		return nil, fmt.Errorf("module %s: its BTF (%d bytes at %#x): %w", m.Name, size, data, err)
	}
	return raw, nil
}
