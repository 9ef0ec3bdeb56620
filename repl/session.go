package repl

import (
	"sort"
	"strings"
	"sync"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
)

// Symbols is what commands need of a kernel's symbol table. The symbol
// layer (a vmlinux's ELF symbols) satisfies it; without a vmlinux the
// session falls back to the few symbols VMCOREINFO names.
type Symbols interface {
	// LookupSymbol returns the address of a symbol, KASLR offset applied.
	LookupSymbol(name string) (addr uint64, ok bool)
	// SymbolAt names the symbol containing addr and the offset into it.
	SymbolAt(addr uint64) (name string, offset uint64, ok bool)
}

// NameLister lists names for tab completion: symbols, and struct, union
// and typedef names. The symbol layer satisfies it.
type NameLister interface {
	SymbolNames(prefix string, max int) []string
	TypeNames(prefix string, max int) []string
}

// Session is what commands work on: one open dump and, optionally, the
// symbols of its vmlinux.
type Session struct {
	Dump *vmcore.Dump
	// VMLinux is the path of the debuginfo vmlinux, "" without one.
	VMLinux string
	// Symbols resolves names and addresses; VMCOREINFO's symbols when
	// there is no vmlinux (see NewSession).
	Symbols Symbols
	// Names feeds completion of symbol and type names; may be nil.
	Names NameLister

	// Debug is the vmlinux's symbols and types, nil without a vmlinux.
	Debug *dwarfsym.File
	// Kernel is the kernel model (the dump paired with Debug), nil
	// without a vmlinux or when the pair cannot give kernel virtual
	// memory. Commands get typed views from it and only format them.
	Kernel *vmcore.Kernel

	// Mismatch, when not nil, says that the vmlinux is not the dump's
	// kernel and was forced on it (vmcore.KernelOptions.IgnoreMismatch),
	// and why. Faces mark every output with it.
	Mismatch *vmcore.MismatchError

	// Progress, when set, makes the progress line of long work (foreach
	// over many tasks) on a terminal; the binary sets it when stderr is
	// one. AfterCommand, when set, runs after every command (the binary
	// clears a progress line there).
	Progress     func(label, unit string) Progress
	AfterCommand func()

	// usedTasks: the current command read the task table (the loop then
	// warns when it is partial).
	usedTasks bool

	// printCount numbers p's results ($1, $2, ...) as gdb does.
	printCount int

	valuesOnce sync.Once
	values     *value.Context

	// ownKernel is the kernel model from the dump alone (its BTF and
	// kallsyms), made on first use in a session without a vmlinux.
	ownKernelOnce sync.Once
	ownKernel     *vmcore.Kernel
	ownKernelErr  error
	// btf serves the dump's own types and symbols as a kernelInfo (info).
	btfOnce sync.Once
	btf     kernelInfo

	// crashSyms is crash's symbol table (crashsyms.go), built once.
	crashSymsOnce sync.Once
	crashSyms     *crashSymbolTable

	// closers close the files OpenSession opened, in order.
	closers []func() error
	closed  bool

	// current is set's context (current.go).
	current currentTask
	// BtMethods, when set, are the only unwind methods bt and foreach bt
	// use (a test of the fallbacks); nil uses every one.
	BtMethods []arch.Method

	// moduleSymbols counts the symbols read from each module's kallsyms,
	// by struct module address (see loadModuleSymbols).
	moduleSymbols map[uint64]int
}

// Progress shows how far long work has gone; see Session.Progress.
type Progress interface {
	// Update reports done of total units (total 0: unknown).
	Update(done, total int64)
	// Clear removes the line.
	Clear()
}

// NewSession prepares a session on d. symbols and names may be nil: the
// session then knows the symbols VMCOREINFO lists and, read on first
// need, the kernel's own kallsyms and its modules' symbols.
func NewSession(d *vmcore.Dump, vmlinux string, symbols Symbols, names NameLister) *Session {
	s := &Session{Dump: d, VMLinux: vmlinux, Symbols: symbols, Names: names}
	if s.Symbols == nil || s.Names == nil {
		ds := &dumpSymbols{s: s, vi: newVMCOREINFOSymbols(d)}
		if s.Symbols == nil {
			s.Symbols = ds
		}
		if s.Names == nil {
			s.Names = ds
		}
	}
	return s
}

// Translator returns the dump's kernel virtual address translator, shared
// with every other user of the dump.
func (s *Session) Translator() (arch.KernelSpace, error) {
	return s.Dump.Translator()
}

// ReadVirt reads kernel virtual memory.
func (s *Session) ReadVirt(p []byte, addr uint64) (int, error) {
	t, err := s.Translator()
	if err != nil {
		return 0, err
	}
	return t.ReadVirt(p, addr)
}

// vmcoreinfoSymbols serves the SYMBOL(name)=addr lines of VMCOREINFO, which
// the kernel writes already relocated by KASLR.
type vmcoreinfoSymbols struct {
	byName map[string]uint64
	sorted []string
}

func newVMCOREINFOSymbols(d *vmcore.Dump) *vmcoreinfoSymbols {
	vs := &vmcoreinfoSymbols{byName: map[string]uint64{}}
	info := d.Info()
	if info == nil {
		return vs
	}
	for _, k := range info.Keys() {
		name, ok := strings.CutPrefix(k, "SYMBOL(")
		if !ok || !strings.HasSuffix(name, ")") {
			continue
		}
		name = strings.TrimSuffix(name, ")")
		if addr, ok := info.Symbol(name); ok {
			vs.byName[name] = addr
			vs.sorted = append(vs.sorted, name)
		}
	}
	sort.Strings(vs.sorted)
	return vs
}

func (vs *vmcoreinfoSymbols) LookupSymbol(name string) (uint64, bool) {
	a, ok := vs.byName[name]
	return a, ok
}

// SymbolAt knows only exact addresses: VMCOREINFO gives no symbol sizes,
// so an address inside a symbol cannot be attributed.
func (vs *vmcoreinfoSymbols) SymbolAt(addr uint64) (string, uint64, bool) {
	for _, n := range vs.sorted {
		if vs.byName[n] == addr {
			return n, 0, true
		}
	}
	return "", 0, false
}

func (vs *vmcoreinfoSymbols) SymbolNames(prefix string, max int) []string {
	return prefixed(vs.sorted, prefix, max)
}

func (vs *vmcoreinfoSymbols) TypeNames(string, int) []string { return nil }

// prefixed returns up to max names of the sorted list that start with prefix.
func prefixed(sorted []string, prefix string, max int) []string {
	i := sort.SearchStrings(sorted, prefix)
	var out []string
	for ; i < len(sorted) && strings.HasPrefix(sorted[i], prefix) && len(out) < max; i++ {
		out = append(out, sorted[i])
	}
	return out
}
