package vmcore

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/printk"
)

// TestLabDeriveMatchesRealVMCOREINFO takes the QEMU dumps that have both
// VMCOREINFO and QEMU's CPU registers, hides the VMCOREINFO, derives it
// from the vmlinux and the registers, and checks every derived key against
// the kernel's own: the KASLR offset, phys_base, the page-table and printk
// symbols, and the printk sizes and offsets.
func TestLabDeriveMatchesRealVMCOREINFO(t *testing.T) {
	l := lab.Open(t)
	tested := 0
	for _, ld := range l.Dumps {
		if !strings.HasPrefix(ld.Format, "qemu-") {
			continue
		}
		t.Run(ld.Name, func(t *testing.T) {
			d, err := Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			real := d.Info()
			if real == nil {
				t.Skip("no VMCOREINFO to compare with (TestLabDeriveWithoutVMCOREINFO covers these dumps)")
			}
			syms, err := dwarfsym.Open(ld.Vmlinux)
			if err != nil {
				t.Fatal(err)
			}
			defer syms.Close()
			d.info, d.infoErr, d.virt = nil, ErrNoVMCOREINFO, virt{}
			if err := d.DeriveVMCOREINFO(syms); err != nil {
				t.Fatal(err)
			}
			if !d.DerivedVMCOREINFO() {
				t.Error("DerivedVMCOREINFO is false after deriving")
			}
			derived := d.Info()
			compared := 0
			for _, line := range strings.Split(strings.TrimSpace(string(derived.Raw())), "\n") {
				key, val, _ := strings.Cut(line, "=")
				want, ok := real.Get(key)
				if !ok {
					continue // the kernel does not export every key printk's layout can use
				}
				compared++
				if strings.TrimSpace(want) != val {
					t.Errorf("%s: derived %s, the kernel's %s", key, val, want)
				}
			}
			for _, key := range []string{"KERNELOFFSET", "NUMBER(phys_base)", "SYMBOL(init_top_pgt)", "SYMBOL(_stext)", "SYMBOL(prb)", "OFFSET(printk_info.caller_id)"} {
				if _, ok := derived.Get(key); !ok {
					t.Errorf("derived VMCOREINFO lacks %s", key)
				}
			}
			t.Logf("%d keys equal to the kernel's", compared)
			if compared < 30 {
				t.Errorf("only %d derived keys could be compared", compared)
			}
			tested++
		})
	}
	if tested == 0 {
		t.Error("no QEMU dump with VMCOREINFO in the lab")
	}
}

// TestLabDeriveWithoutVMCOREINFO opens the QEMU dumps taken without
// -device vmcoreinfo with their vmlinux, as crash does, and checks that
// the kernel log read through the derived VMCOREINFO is crash's, line for
// line (crash 8.0.6's log of the same file, in crash's layout).
func TestLabDeriveWithoutVMCOREINFO(t *testing.T) {
	l := lab.Open(t)
	tested := 0
	for _, ld := range l.Dumps {
		t.Run(ld.Name, func(t *testing.T) {
			d, err := Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Info() != nil {
				t.Skip("has VMCOREINFO")
			}
			tested++
			k, err := OpenKernel(d, ld.Vmlinux, KernelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if !d.DerivedVMCOREINFO() || !strings.Contains(strings.Join(d.Warnings(), "\n"), "VMCOREINFO derived") {
				t.Errorf("no warning says VMCOREINFO was derived: %q", d.Warnings())
			}
			recs, warns, err := d.KernelLog()
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 0 {
				t.Errorf("warnings: %v", warns)
			}
			var got bytes.Buffer
			f := printk.Formatter{Style: printk.StyleCrash}
			if err := f.Write(&got, recs); err != nil {
				t.Fatal(err)
			}
			// The twin of a converted dump has the same log; crash's
			// reference is recorded for each file.
			want, err := os.ReadFile(ld.RefFile("crash-8.0.6", "log.txt"))
			if err != nil {
				t.Skipf("no crash log reference: %v", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("log differs from crash 8.0.6's (-crash +ours):\n%s", diff)
			}
		})
	}
	if tested == 0 {
		t.Error("the lab has no dump without VMCOREINFO")
	}
}
