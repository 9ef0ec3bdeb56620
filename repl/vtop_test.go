package repl

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch/amd64"
)

func TestWritePTE(t *testing.T) {
	for _, c := range []struct {
		pte  uint64
		want string
	}{
		{0x8000000003de0025, "      PTE         PHYSICAL  FLAGS\n8000000003de0025   3de0000  (PRESENT|USER|ACCESSED|NX)\n"},
		{0x3e60025, "  PTE    PHYSICAL  FLAGS\n3e60025   3e60000  (PRESENT|USER|ACCESSED)\n"},
		{0x80000000060001e1, "      PTE         PHYSICAL  FLAGS\n80000000060001e1   6000000  (PRESENT|ACCESSED|DIRTY|PSE|GLOBAL|NX)\n"},
		// Not present with the GLOBAL bit: PROTNONE, and PSE is not shown.
		{0x80000000050001a4, "      PTE         PHYSICAL  FLAGS\n80000000050001a4   5000000  (USER|ACCESSED|PROTNONE|GLOBAL|NX)\n"},
	} {
		var b bytes.Buffer
		sp := amd64.Space{}
		writePTE(&b, c.pte, sp.EntryPhys(c.pte), sp.EntryFlags(c.pte))
		if d := cmp.Diff(c.want, b.String()); d != "" {
			t.Errorf("writePTE(%#x) (-want +got):\n%s", c.pte, d)
		}
	}
}

func TestNeedsTask(t *testing.T) {
	for cmd, want := range map[string]bool{
		"vtop -k 0xffffffff90f1ffe0":     false,
		"vtop 0xffffffff90f1ffe0":        false,
		"vtop 0x400000":                  true,
		"vtop -u 0xffffffff90f1ffe0":     true,
		"vtop -c 1 0xffffffff90f1ffe0":   true,
		"vtop -k 0xffffffff90f1ffe0 0x1": true,
	} {
		if got := needsTask(cmd); got != want {
			t.Errorf("needsTask(%q) = %v, want %v", cmd, got, want)
		}
	}
}
