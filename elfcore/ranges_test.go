package elfcore

import (
	"debug/elf"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRanges(t *testing.T) {
	spec := coreSpec{machine: elf.EM_X86_64, loads: []loadSpec{
		load(0x1000, 0x1000, 0x2000), // data, zero tail
		load(0x1800, 0x100, 0),       // inside the first: counted once
		load(0x3000, 0x1000, 0),      // adjacent data after the zero tail
		load(0x4000, 0x1000, 0),      // adjacent data: merged
		load(0x8000, 0x2000, 0x3000), // cut by truncation below
	}}
	b := spec.bytes()
	f := mustOpen(t, b[:len(b)-0x1800])
	want := []Range{
		{0x1000, 0x2000, RangeData},
		{0x2000, 0x3000, RangeZero},
		{0x3000, 0x5000, RangeData},
		{0x8000, 0x8800, RangeData},
		{0x8800, 0xa000, RangeLost},
		{0xa000, 0xb000, RangeZero},
	}
	if diff := cmp.Diff(want, f.Ranges()); diff != "" {
		t.Errorf("Ranges (-want +got):\n%s", diff)
	}
	if RangeZero.String() != "zero-filled" || RangeLost.String() != "lost" || RangeData.String() != "data" {
		t.Error("RangeKind names")
	}
}
