package repl

import (
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
)

// NewKernelSession pairs a dump with the debuginfo vmlinux of its kernel:
// symbols are relocated by the dump's KASLR offset, and struct, p, whatis,
// sym and rd -s work from the vmlinux's symbols and types.
//
// A vmlinux that is not the dump's kernel (another release, build ID or
// linux_banner: see vmcore.NewKernel) is refused with the
// *vmcore.MismatchError, before anything is read with it. With
// opt.IgnoreMismatch the session opens all the same, and Mismatch says
// why its answers cannot be trusted.
func NewKernelSession(d *vmcore.Dump, vmlinux string, f *dwarfsym.File, opt vmcore.KernelOptions) (*Session, error) {
	// The kernel model: the dump paired with its vmlinux (KASLR,
	// VMCOREINFO derived for a QEMU dump without it).
	k, err := vmcore.NewKernel(d, f, opt)
	if errors.Is(err, vmcore.ErrMismatch) {
		return nil, err
	}
	if err != nil {
		// No VMCOREINFO could be derived, or no kernel virtual memory:
		// relocate what can be, and let commands say why they fail.
		k = nil
		if info := d.Info(); info != nil {
			if off, ok := info.KernelOffset(); ok {
				f.SetRelocation(off)
			} else if dumpStext, ok := info.Symbol("_stext"); ok {
				if s, ok := f.Lookup("_stext"); ok && (dumpStext-s.Addr)&0xfff == 0 {
					f.SetRelocation(dumpStext - s.Addr)
				}
			}
		}
	}
	ks := &debugSymbols{f: f}
	s := NewSession(d, vmlinux, ks, ks)
	s.Debug = f
	s.Kernel = k
	if k != nil {
		s.Mismatch = k.Mismatch()
	}
	// Modules' symbols, as crash loads them at start-up; a dump whose
	// module list cannot be read still opens.
	s.moduleSymbols, _ = s.loadModuleSymbols()
	return s, nil
}

// Values returns typed access to kernel memory: through the vmlinux's
// types, or without one the kernel's own BTF; else an error wrapping
// ErrNeedsVMLinux.
func (s *Session) Values() (*value.Context, error) {
	if s.Debug == nil {
		k, err := s.dumpKernel()
		if err != nil {
			return nil, err
		}
		return k.Values, nil
	}
	if s.Kernel != nil {
		return s.Kernel.Values, nil
	}
	t, err := s.Translator()
	if err != nil {
		return nil, err
	}
	s.valuesOnce.Do(func() { s.values = value.New(s.Debug.Source(), t.ReaderAt()) })
	return s.values, nil
}

// debugSymbols adapts a vmlinux's symbol table and types to Symbols and
// NameLister.
type debugSymbols struct {
	f *dwarfsym.File

	namesOnce sync.Once
	names     []string
	typesOnce sync.Once
	types     []string
}

func (d *debugSymbols) LookupSymbol(name string) (uint64, bool) {
	s, ok := d.f.Lookup(name)
	if !ok || s.PerCPU {
		return 0, false
	}
	return s.Addr, true
}

func (d *debugSymbols) SymbolAt(addr uint64) (string, uint64, bool) {
	s, off, ok := d.f.SymbolAt(addr)
	if !ok || s.PerCPU {
		return "", 0, false
	}
	return s.Name, off, true
}

func (d *debugSymbols) SymbolNames(prefix string, max int) []string {
	d.namesOnce.Do(func() {
		syms, err := d.f.Symbols()
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, s := range syms {
			if s.Name != "" && !seen[s.Name] {
				seen[s.Name] = true
				d.names = append(d.names, s.Name)
			}
		}
		sort.Strings(d.names)
	})
	return prefixed(d.names, prefix, max)
}

// TypeNames lists struct, union and typedef names without their keyword,
// as crash's struct and whatis take them. The first call scans the whole
// DWARF (seconds on a distribution kernel).
func (d *debugSymbols) TypeNames(prefix string, max int) []string {
	d.typesOnce.Do(func() {
		all, err := d.f.TypeNames()
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, n := range all {
			for _, kw := range []string{"struct ", "union ", "enum "} {
				n = strings.TrimPrefix(n, kw)
			}
			if !seen[n] {
				seen[n] = true
				d.types = append(d.types, n)
			}
		}
		sort.Strings(d.types)
	})
	return prefixed(d.types, prefix, max)
}

// symbolTypeChar is the nm-style letter crash prints: T text, B bss,
// D other data (crash says D for read-only data too), A absolute, V
// per-CPU; lower case for local symbols.
func symbolTypeChar(s dwarfsym.Symbol) byte {
	var c byte
	switch {
	case s.Section == "":
		c = 'A'
	case s.PerCPU:
		c = 'V'
	case s.Type == elf.STT_FUNC || strings.HasPrefix(s.Section, ".text") || strings.HasPrefix(s.Section, ".init.text"):
		c = 'T'
	case strings.HasPrefix(s.Section, ".bss") || strings.HasPrefix(s.Section, ".brk"):
		c = 'B'
	default:
		c = 'D'
	}
	if s.Bind == elf.STB_LOCAL && c != 'V' {
		c += 'a' - 'A'
	}
	return c
}

// symLine is the " file: line" crash adds after a text symbol.
func (s *Session) symLine(addr uint64) string {
	frames, err := s.Debug.Lines(addr)
	if err != nil || len(frames) == 0 {
		return ""
	}
	// The outermost frame is the function the address belongs to, which
	// is what crash's sym names (dis -l shows the inlined positions).
	f := frames[len(frames)-1]
	return fmt.Sprintf(" %s: %d", f.File, f.Line)
}
