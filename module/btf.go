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
// the module.
func BTF(c *value.Context, m Module) ([]byte, error) {
	mv, err := c.At("struct module", m.Addr)
	if err != nil {
		return nil, err
	}
	dataV, err := mv.Member("btf_data")
	if err != nil {
		return nil, fmt.Errorf("module %s: %w (struct module has no btf_data)", m.Name, ErrNoBTF)
	}
	if data, err := dataV.Uint(); err == nil && data != 0 {
		return readBTF(c, m, mv, "btf_data", "btf_data_size")
	}
	head, err := c.Var("btf_modules")
	if err != nil {
		return nil, fmt.Errorf("module %s: %w (btf_data is NULL and the kernel's btf_modules list cannot be read: %v)", m.Name, ErrNoBTF, err)
	}
	for bm, err := range walk.List(head, "struct btf_module", "list", walk.Max(MaxModules)) {
		if err != nil {
			return nil, fmt.Errorf("module %s: walking btf_modules: %w", m.Name, err)
		}
		modV, err := bm.Member("module")
		if err != nil {
			return nil, err
		}
		if addr, err := modV.Uint(); err != nil || addr != m.Addr {
			continue
		}
		btfV, err := bm.Member("btf")
		if err != nil {
			return nil, err
		}
		btfAddr, err := btfV.Uint()
		if err != nil || btfAddr == 0 {
			return nil, fmt.Errorf("module %s: %w (its btf_modules entry has no struct btf)", m.Name, ErrNoBTF)
		}
		b, err := c.At("struct btf", btfAddr)
		if err != nil {
			return nil, err
		}
		return readBTF(c, m, b, "data", "data_size")
	}
	return nil, fmt.Errorf("module %s: %w", m.Name, ErrNoBTF)
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
	raw := make([]byte, size)
	if err := c.Read(raw, data, "module BTF"); err != nil {
		return nil, fmt.Errorf("module %s: its BTF (%d bytes at %#x): %w", m.Name, size, data, err)
	}
	return raw, nil
}
