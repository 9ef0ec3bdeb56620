package vmcore

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/kbtf"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/module"
	"github.com/vmcoretools/vmcore/value"
)

// KernelFromDump makes the kernel model from the dump alone: types from
// the kernel's own BTF in its memory, symbols from its kallsyms table
// (both found through VMCOREINFO: kernels from 6.0 on, built with
// CONFIG_DEBUG_INFO_BTF, as distribution kernels are). Views that read
// global variables the BTF does not type (see kbtf.Globals) and those
// that need the vmlinux's line tables say so; OpenKernel with an empty
// path and Load without a vmlinux come here.
func KernelFromDump(d *Dump) (*Kernel, error) {
	info := d.Info()
	if info == nil {
		return nil, fmt.Errorf("vmcore: %s has no VMCOREINFO: without a vmlinux the kernel's types and symbols cannot be found", orName(strings.Join(d.Paths(), ", "), "the dump"))
	}
	syms, err := d.Kallsyms()
	if err != nil {
		return nil, fmt.Errorf("vmcore: the kernel's symbols from the dump (needed without a vmlinux): %w", err)
	}
	raw, err := readBTF(d, syms)
	if err != nil {
		return nil, err
	}
	types, err := kbtf.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("vmcore: the kernel's BTF from the dump: %w", err)
	}
	t, err := d.Translator()
	if err != nil {
		return nil, fmt.Errorf("vmcore: kernel virtual memory: %w", err)
	}
	k := &Kernel{Dump: d, Virt: t}
	if off, ok := info.KernelOffset(); ok {
		k.kaslr = off
	}
	k.Source = kbtf.NewSource(types, syms, k.kaslr)
	k.Values = value.New(k.Source, t.ReaderAt())
	k.Source.SetModules(func() ([]kbtf.ModuleTypes, []error) { return moduleBTF(k.Values, types) })
	if s, ok := syms.Lookup("linux_banner"); ok {
		buf := make([]byte, 512)
		n, _ := t.ReadVirt(buf, s.Addr)
		buf = buf[:n]
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			buf = buf[:i]
		}
		k.banner = string(buf)
	}
	return k, nil
}

// Symbols lists the kernel's symbols by address: the vmlinux's (and the
// modules' it was given), or without one the kernel's kallsyms.
func (k *Kernel) Symbols() ([]dwarfsym.Symbol, error) {
	if k.Syms != nil {
		return k.Syms.Symbols()
	}
	all := k.Source.All()
	out := make([]dwarfsym.Symbol, len(all))
	for i, s := range all {
		out[i] = symbolOfSource(s)
	}
	return out, nil
}

// symbolOfSource turns a type source's symbol into the vmlinux symbol
// Kernel.Lookup and SymbolAt give.
func symbolOfSource(s ktype.Symbol) dwarfsym.Symbol {
	kind := s.Kind
	if s.PerCPU && kind|0x20 == 'a' {
		// kallsyms marks per-CPU variables absolute (their addresses
		// are offsets); they are data in .data..percpu, as the vmlinux
		// has them.
		kind += 'D' - 'A'
	}
	sym := dwarfsym.KallsymsSymbol(s.Name, s.Addr, s.Size, kind)
	sym.PerCPU, sym.Module = s.PerCPU, s.Module
	return sym
}

// moduleBTF reads every loaded module's BTF, split on the kernel's (base).
// A module without BTF is left out; one whose BTF cannot be read or parsed
// is left out with an error naming it.
func moduleBTF(vals *value.Context, base *kbtf.Types) ([]kbtf.ModuleTypes, []error) {
	mods, err := module.List(vals)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var out []kbtf.ModuleTypes
	raws, rerrs := module.BTFs(vals, mods)
	errs = append(errs, rerrs...)
	for _, m := range mods {
		raw, ok := raws[m.Addr]
		if !ok {
			continue
		}
		t, err := kbtf.ParseSplit(raw, base)
		if err != nil {
			errs = append(errs, fmt.Errorf("module %s: %w", m.Name, err))
			continue
		}
		out = append(out, kbtf.ModuleTypes{Module: m.Name, Types: t})
	}
	return out, errs
}
