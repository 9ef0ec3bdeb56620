package repl

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/kmem"
)

func TestWritePTE(t *testing.T) {
	// The flags' names are the architecture's (tested there); this is
	// crash's layout around them, centred on the wider of each column.
	for _, c := range []struct {
		pte, phys uint64
		flags     []string
		want      string
	}{
		{0x8000000003de0025, 0x3de0000, []string{"PRESENT", "USER", "ACCESSED", "NX"}, "      PTE         PHYSICAL  FLAGS\n8000000003de0025   3de0000  (PRESENT|USER|ACCESSED|NX)\n"},
		{0x3e60025, 0x3e60000, []string{"PRESENT", "USER", "ACCESSED"}, "  PTE    PHYSICAL  FLAGS\n3e60025   3e60000  (PRESENT|USER|ACCESSED)\n"},
		{0x80000000060001e1, 0x6000000, []string{"PRESENT", "ACCESSED", "DIRTY", "PSE", "GLOBAL", "NX"}, "      PTE         PHYSICAL  FLAGS\n80000000060001e1   6000000  (PRESENT|ACCESSED|DIRTY|PSE|GLOBAL|NX)\n"},
	} {
		var b bytes.Buffer
		writePTE(&b, &kmem.Leaf{Entry: arch.Word(c.pte), Phys: arch.Word(c.phys), Flags: c.flags})
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
