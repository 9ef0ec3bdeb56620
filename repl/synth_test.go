package repl

import (
	"path/filepath"
	"testing"

	"github.com/vmcoretools/vmcore/repl/synthdump"
	"github.com/vmcoretools/vmcore/vmcore"
)

func openSynth(t testing.TB) *Session {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vmcore")
	if err := synthdump.Write(path); err != nil {
		t.Fatal(err)
	}
	d, err := vmcore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return NewSession(d, "", nil, nil)
}

func TestSynthDumpOpens(t *testing.T) {
	s := openSynth(t)
	tr, err := s.Translator()
	if err != nil {
		t.Fatal(err)
	}
	if base, ok := tr.PhysToDirect(0); !ok || base != synthdump.DirectMap {
		t.Fatalf("page offset %#x, %v; want %#x", base, ok, uint64(synthdump.DirectMap))
	}
}
