package vmcore

import (
	"errors"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/dwarfsym"
)

// A dump without VMCOREINFO and without QEMU's CPU registers cannot have it
// derived: the error says why and still matches ErrNoVMCOREINFO, and the
// dump is left as it was.
func TestDeriveVMCOREINFONeedsCPUState(t *testing.T) {
	path := writeELFCore(t, testSegs, testNotes()[:2])
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	syms, err := dwarfsym.Open("../dwarfsym/testdata/tiny.elf")
	if err != nil {
		t.Fatal(err)
	}
	defer syms.Close()
	err = d.DeriveVMCOREINFO(syms)
	if !errors.Is(err, ErrNoVMCOREINFO) || !strings.Contains(err.Error(), "no CPU state") {
		t.Errorf("err %v", err)
	}
	if d.Info() != nil || d.DerivedVMCOREINFO() {
		t.Error("a failed derivation changed the dump")
	}
	if _, err := NewKernel(d, syms, KernelOptions{}); !errors.Is(err, ErrNoVMCOREINFO) {
		t.Errorf("NewKernel: %v", err)
	}
}
