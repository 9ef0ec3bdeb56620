package repl

// The kernel's symbol table as crash builds it and names addresses with:
// shared by sym, dis, rd -s, sys and the other commands that name
// addresses, and kept per session (released with it).

import (
	"cmp"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

// isKernelText tells an address in one of the vmlinux's executable
// sections (crash's is_kernel_text).
func (s *Session) isKernelText(addr uint64) bool {
	sym, _, ok := s.info().SymbolAt(addr)
	return ok && sym.SectionFlags&elf.SHF_EXECINSTR != 0
}

// sourceLine is "file: line" for a code address as crash's gdb gives it:
// the line table's row for the address (the innermost position of inlined
// code), a relative file joined to its unit's compilation directory
// (debian/build/build_amd64_none_cloud-amd64/kernel/sched/core.c: 6654);
// "" without line information.
func (s *Session) sourceLine(addr uint64) string {
	if s.Debug == nil {
		return ""
	}
	frames, err := s.Debug.Lines(addr)
	if err != nil || len(frames) == 0 || frames[0].File == "" {
		return ""
	}
	f := frames[0]
	file := f.File
	if !path.IsAbs(file) {
		// DWARF 4 line tables (gcc 10, as for 5.10) come joined to a
		// relative comp_dir already.
		if dir := strings.TrimSuffix(s.Debug.CompDir(addr), "/"); dir != "" && !strings.HasPrefix(file, dir+"/") {
			file = dir + "/" + file
		}
	}
	for strings.Contains(file, "//") {
		file = strings.ReplaceAll(file, "//", "/")
	}
	return fmt.Sprintf("%s: %d", file, f.Line)
}

// crashSymbol is one entry of crash's kernel symbol table.
type crashSymbol struct {
	dwarfsym.Symbol
	// shown is the name crash shows: GCC's clone suffixes .isra.N,
	// .part.N and .llvm.N stripped (Symbol.Name keeps them: crash sorts
	// by the full name).
	shown string
	// letter overrides the type letter of the section symbols added here.
	letter byte
}

// crashSymbolTable is the vmlinux's symbol table as crash builds it, so
// that addresses are named as crash names them: sorted by address, then
// by name; nothing below _text but the per-CPU symbols.
type crashSymbolTable struct {
	syms        []crashSymbol
	firstKernel uint64 // the address of _text: per-CPU offsets lie below
}

// crashSymbols returns the session's crash symbol table, built on first
// use (the session keeps it: it goes with the session). Without the
// vmlinux it is the kernel's kallsyms and the modules' symbols.
func (s *Session) crashSymbols() *crashSymbolTable {
	if !s.hasTypes() {
		return &crashSymbolTable{}
	}
	s.crashSymsOnce.Do(func() { s.crashSyms = s.buildCrashSymbols() })
	return s.crashSyms
}

func (s *Session) buildCrashSymbols() *crashSymbolTable {
	syms, _ := s.info().Symbols()
	var all []crashSymbol
	for _, sym := range syms {
		all = append(all, crashSymbol{Symbol: sym, shown: stripCloneSuffix(sym.Name)})
	}
	if s.Debug != nil {
		all = append(all, sectionSymbols(s.Debug)...)
	}
	slices.SortStableFunc(all, func(a, b crashSymbol) int {
		if c := cmp.Compare(a.Addr, b.Addr); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	t := &crashSymbolTable{}
	started, percpu := false, false
	for _, sym := range all {
		if !started {
			switch {
			case sym.Name == "_text" || sym.Name == "_stext":
				started, t.firstKernel = true, sym.Addr
			case sym.Name == "__per_cpu_start":
				percpu = true
			case percpu && (strings.HasPrefix(sym.Name, "per_cpu") || sym.Name == "__per_cpu_end"):
			case percpu && (sym.kind() == 'd' || sym.kind() == 'D' || sym.kind() == 'V'):
			default:
				continue
			}
		}
		t.syms = append(t.syms, sym)
	}
	if len(t.syms) == 0 {
		// No _text: not a kernel as crash knows one (a test image); keep
		// every symbol.
		t.syms = all
	}
	return t
}

// stripCloneSuffix drops the suffixes crash strips from GCC's and LLVM's
// clones of a function.
func stripCloneSuffix(name string) string {
	for _, suffix := range []string{".isra.", ".part.", ".llvm."} {
		if i := strings.Index(name, suffix); i >= 0 {
			return name[:i]
		}
	}
	return name
}

// search names a kernel address as crash's value_search does: an exact
// match is the first symbol at the address (by name), with crash's
// exceptions; otherwise the last symbol below it, however far.
func (t *crashSymbolTable) search(addr uint64) (crashSymbol, uint64, bool) {
	n := len(t.syms)
	if n == 0 || addr < t.syms[0].Addr || addr > t.syms[n-1].Addr || addr < t.firstKernel {
		return crashSymbol{}, 0, false
	}
	i := sort.Search(n, func(i int) bool { return t.syms[i].Addr >= addr })
	if i < n && t.syms[i].Addr == addr {
		next := func() bool { return i+1 < n && t.syms[i+1].Addr == addr }
		if strings.HasPrefix(t.syms[i].Name, ".text.") && next() {
			i++
		}
		if (strings.HasPrefix(t.syms[i].Name, "SyS_") || strings.HasPrefix(t.syms[i].Name, "compat_SyS_")) && next() {
			i++
		}
		if strings.Contains(t.syms[i].Name, "_text_start") && next() {
			i++
		}
		return t.syms[i], 0, true
	}
	if i == 0 {
		return crashSymbol{}, 0, false
	}
	return t.syms[i-1], addr - t.syms[i-1].Addr, true
}

// crashSymbolic is crash's value_to_symstr in its default (decimal) radix:
// "name" or "name+off", "" for an address no symbol covers.
func (s *Session) crashSymbolic(addr uint64) string {
	sym, off, ok := s.crashSymbols().search(addr)
	switch {
	case !ok:
		return ""
	case off == 0:
		return sym.shown
	}
	return fmt.Sprintf("%s+%d", sym.shown, off)
}

// isText is crash's is_symbol_text: a text symbol (weak ones too).
func (c crashSymbol) isText() bool {
	switch c.Kind() {
	case 'T', 't':
		return true
	case 'W', 'w':
		return c.SectionFlags&elf.SHF_EXECINSTR != 0
	}
	return false
}

// querySymbols prints, as crash's symbol_query, every symbol whose name
// contains str, each line after pad; it returns how many.
func (s *Session) querySymbols(w io.Writer, str, pad string) int {
	n := 0
	for _, sym := range s.crashSymbols().syms {
		if strings.Contains(sym.shown, str) {
			fmt.Fprintf(w, "%s%x (%c) %s\n", pad, sym.Addr, sym.kind(), sym.shown)
			n++
		}
	}
	return n
}

// named returns the symbols crash finds by a name (clone suffixes
// stripped), by address.
func (t *crashSymbolTable) named(name string) []crashSymbol {
	var out []crashSymbol
	for _, sym := range t.syms {
		if sym.shown == name {
			out = append(out, sym)
		}
	}
	return out
}

// sectionSymbols are the vmlinux's STT_SECTION symbols, which bfd hands
// crash named after their sections (dwarfsym leaves them out): crash names
// an address at a section's start by them when they sort first (.data).
func sectionSymbols(f *dwarfsym.File) []crashSymbol {
	ef := f.ELF()
	syms, err := ef.Symbols()
	if err != nil {
		return nil
	}
	var out []crashSymbol
	for _, es := range syms {
		if elf.ST_TYPE(es.Info) != elf.STT_SECTION || int(es.Section) >= len(ef.Sections) || es.Section == elf.SHN_UNDEF {
			continue
		}
		sec := ef.Sections[es.Section]
		if sec.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		var letter byte
		switch {
		case sec.Flags&elf.SHF_EXECINSTR != 0:
			letter = 't'
		case sec.Type == elf.SHT_NOBITS:
			letter = 'b'
		case sec.Flags&elf.SHF_WRITE != 0:
			letter = 'd'
		default:
			letter = 'r'
		}
		addr := es.Value
		if addr >= 0xffffffff80000000 {
			addr += f.Relocation()
		}
		out = append(out, crashSymbol{
			Symbol: dwarfsym.Symbol{Name: sec.Name, Addr: addr, Type: elf.STT_SECTION, Bind: elf.STB_LOCAL, Section: sec.Name, SectionFlags: sec.Flags},
			shown:  sec.Name,
			letter: letter,
		})
	}
	return out
}

// kind is the type letter bfd gives crash: nm's, with V for a weak object.
func (c crashSymbol) kind() byte {
	if c.letter != 0 {
		return c.letter
	}
	k := c.Kind()
	if c.Bind == elf.STB_WEAK && c.Type == elf.STT_OBJECT {
		k = 'V'
	}
	return k
}

// showSymbol prints one sym line as crash's show_symbol: address, type
// letter, name (+decimal offset) and, for kernel text, the source position
// gdb gives for the address ("" when none, after the space all the same).
func (s *Session) showSymbol(w io.Writer, sym crashSymbol, off uint64) {
	name := sym.shown
	if off != 0 {
		name = fmt.Sprintf("%s+%d", name, off)
	}
	fmt.Fprintf(w, "%x (%c) %s", sym.Addr+off, sym.kind(), name)
	if sym.Module != "" {
		// A module's symbol, from its kallsyms: crash names the module
		// where it would give the source line.
		fmt.Fprintf(w, " [%s] \n", sym.Module)
		return
	}
	if s.Debug != nil && s.isKernelText(sym.Addr+off) {
		// Without the vmlinux there are no line tables: the line ends
		// at the name.
		fmt.Fprintf(w, " %s", s.sourceLine(sym.Addr+off))
	}
	fmt.Fprintln(w)
}

// inKernelImage reports an address between _stext and _end, where crash's
// kmem names the symbol holding an address.
func (s *Session) inKernelImage(addr uint64) bool {
	lo, ok1 := s.Symbols.LookupSymbol("_stext")
	hi, ok2 := s.Symbols.LookupSymbol("_end")
	return ok1 && ok2 && addr >= lo && addr <= hi
}
