package vmcore

import (
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/arch/amd64"
	"github.com/vmcoretools/vmcore/arch/amd64/unwind"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/module"
)

// TestLabModuleORC reads the loaded modules' ORC tables from the dump's
// memory (mod->arch) on both kernels, from the dump alone, and checks
// them against the modules' own symbols: at the first instruction of a
// module function (its kallsyms text symbols) the return address is at
// the stack pointer, so the entry there must be a call frame with the CFA
// at SP+8. The lab's backtraces pass through no module code, so this is
// the proof that the tables are read right.
func TestLabModuleORC(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k612-kdump-lzo-d31", "k510-kdump-zstd-d31", "ksid-elf"} {
		ld := l.Dump(name)
		if ld == nil {
			if strings.HasPrefix(name, "k61") { // the other kernels: build.sh without --only-6.1
				t.Errorf("the lab has no %s", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			d, k := labOwnKernel(t, ld)
			defer d.Close()
			ak := k.ArchKernel()
			kernelORC, err := unwind.ReadORC(ak, ak.Symbol, ak.Relocation())
			if err != nil {
				t.Fatal(err)
			}
			mods, err := module.List(k.Values)
			if err != nil {
				t.Fatal(err)
			}
			var ams []arch.Module
			for _, m := range mods {
				ams = append(ams, archModule(m))
			}
			orc, errs := amd64.ReadModuleORC(ak, ams, kernelORC.Layout())
			for _, err := range errs {
				t.Error(err)
			}
			if orc == nil || orc.Len() == 0 {
				t.Fatal("no module ORC entries")
			}
			syms, _ := module.ReadSymbols(k.Values, mods)
			n, ok := 0, 0
			for _, m := range mods {
				for _, s := range syms[m.Addr] {
					if s.Kind|0x20 != 't' || strings.HasPrefix(s.Name, "__pfx_") || strings.HasPrefix(s.Name, "__cfi_") ||
						strings.Contains(s.Name, ".cold") { // a function's cold part runs in its frame
						continue
					}
					if !inCoreText(m, s.Addr) {
						continue // init code, freed once the module is live
					}
					n++
					e, found := orc.Lookup(s.Addr - ak.Relocation())
					if found && e.Kind == unwind.KindCall && e.SPReg == unwind.RegSP && e.SPOffset == 8 {
						ok++
					} else if n-ok <= 5 {
						t.Logf("%s %s: %+v (found %v)", m.Name, s.Name, e, found)
					}
				}
			}
			t.Logf("%d modules, %d ORC entries; %d of %d module functions start with a call frame at SP+8", len(mods), orc.Len(), ok, n)
			if n < 20 || ok != n {
				t.Errorf("%d of %d module functions start with a call frame: want all", ok, n)
			}
		})
	}
}

// inCoreText tells an address in a module's core text (not its init code).
func inCoreText(m module.Module, addr uint64) bool {
	for _, r := range m.Regions {
		if !r.Init && addr >= r.Base && addr < r.Base+r.Size {
			return true
		}
	}
	return false
}

// labOwnKernel opens a lab dump and makes its kernel model from the dump
// alone (KernelFromDump).
func labOwnKernel(t *testing.T, ld *lab.Dump) (*Dump, *Kernel) {
	t.Helper()
	d, err := Open(ld.Files...)
	if err != nil {
		t.Fatal(err)
	}
	k, err := KernelFromDump(d)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	return d, k
}
