package unwind

import (
	"debug/elf"
	"fmt"
	"sort"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"golang.org/x/arch/x86/x86asm"
)

// TestLabPrologueMatchesCFI reads every function of each lab vmlinux and,
// at the return address of each of its calls, compares the rule prologue
// analysis finds with the rule of the vmlinux's .debug_frame: where the
// analysis gives a rule, it should be CFI's: at least 95% of them are
// (mid-body pushes of arguments in code reached by jumps are what it
// misses).
func TestLabPrologueMatchesCFI(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k612-elf"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(d.Kernel, func(t *testing.T) {
			f, err := elf.Open(d.Vmlinux)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfi, err := LoadCFI(f)
			if err != nil {
				t.Fatal(err)
			}
			text := f.Section(".text")
			code, err := text.Data()
			if err != nil {
				t.Fatal(err)
			}
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			var funcs []elf.Symbol
			for _, s := range syms {
				if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 && s.Value >= text.Addr && s.Value+s.Size <= text.Addr+text.Size {
					funcs = append(funcs, s)
				}
			}
			sort.Slice(funcs, func(i, j int) bool { return funcs[i].Value < funcs[j].Value })
			agree, differ, refused, noCFI := 0, 0, 0, 0
			var examples []string
			for _, fn := range funcs {
				body := code[fn.Value-text.Addr : fn.Value-text.Addr+fn.Size]
				for off := 0; off < len(body); {
					inst, err := x86asm.Decode(body[off:], 64)
					if err != nil || inst.Len == 0 {
						break
					}
					off += inst.Len
					if inst.Op != x86asm.CALL || off >= len(body) {
						continue
					}
					ret := fn.Value + uint64(off)
					want, err := cfi.rule(ret - 1)
					if err != nil {
						noCFI++
						continue
					}
					got, st, err := prologueFrame(fn.Value, body, ret)
					// The CFA as CFI computes it, from the register it
					// uses: the analysis knows both.
					cfaAgrees := want.cfaReg == dwarfRSP && st.rspKnown && st.depth+8 == want.cfaOff ||
						want.cfaReg == dwarfRBP && st.framed >= 0 && st.framed+8 == want.cfaOff
					switch {
					case err != nil:
						refused++
					case cfaAgrees && (!want.bpSaved || got.bpSaved && got.bpOff == want.bpOff):
						agree++
					default:
						differ++
						if len(examples) < 10 {
							examples = append(examples, fmt.Sprintf("%s+%d: prologue %+v, CFI %+v", fn.Name, ret-fn.Value, got, want))
						}
					}
				}
			}
			t.Logf("%d call sites: %d agree with CFI, %d differ, %d refused; %d without CFI", agree+differ+refused, agree, differ, refused, noCFI)
			for _, e := range examples {
				t.Log(e)
			}
			// The analysis is the fallback where the kernel's ORC has no
			// entry; the walker also checks each return address it finds.
			if total := agree + differ + refused; total < 50000 || float64(agree) < 0.95*float64(total) {
				t.Errorf("prologue analysis agrees with CFI at %d of %d call sites; want 95%%", agree, total)
			}
		})
	}
}
