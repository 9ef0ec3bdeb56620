package repl

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabQEMUPanicMatchesCrash runs trixie's crash 8.0.6 from the lab on
// the QEMU panic dumps of 512 MiB guests (sysrq-c without kdump, the dump
// taken by QEMU), which the recorded crash groups do not cover, and
// compares with ours, stdout and stderr together as crash prints them:
//   - set and foreach RU set: the panic task is (SYSRQ) here, as crash
//     marks a sysrq-c panic whose stack holds no kexec frame;
//   - kmem of addresses beyond the guest's memory (the kmem group's
//     addresses for a 1 GiB guest): a physical one, a direct-map one, a
//     struct page's that is not mapped, kmem -f of both, kmem -s of a
//     direct-map one, each with crash's warnings.
func TestLabQEMUPanicMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	skipWithoutCrash(t, l)
	eachLabSession(t, l, []string{"q510-panic-elf", "q61-panic-elf", "q612-panic-elf"}, "no QEMU panic dump in the lab", func(t *testing.T, d *lab.Dump, s *Session) {
		hex := func(expr string) uint64 {
			v, ok := pxValue(s, expr)
			x, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64)
			if !ok || err != nil {
				t.Fatalf("p/x %s: %q", expr, v)
			}
			return x
		}
		pob, vmb := hex("page_offset_base"), hex("vmemmap_base")
		cmds := []string{"set", "foreach RU set",
			"kmem 3e001010",
			fmt.Sprintf("kmem %#x", pob+0x3e002000),
			fmt.Sprintf("kmem %#x", vmb+0x3e003*64),
			"kmem -f 3e001010",
			fmt.Sprintf("kmem -f %#x", pob+0x3e002000),
			fmt.Sprintf("kmem -s %#x", pob+0x3e001000)}
		want := runCrash(t, l, d, cmds)
		var got bytes.Buffer
		for _, c := range cmds {
			lp := &Loop{Session: s, Out: &got, Err: &got}
			lp.RunLine(c)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("(-crash +ours):\n%s", diff)
		}
		if !strings.Contains(got.String(), "(SYSRQ)") {
			t.Error("the panic task is not (SYSRQ)")
		}
	})
}
