package dwarfsym

import (
	"strings"
	"testing"
)

// TestCompDir reads the compilation directory of the unit around a code
// address (tiny.elf was built in dwarfsym/testdata) and nothing for an
// address no unit covers.
func TestCompDir(t *testing.T) {
	f := openTiny(t)
	fn, ok := f.Lookup("task_fn")
	if !ok {
		t.Fatal("no task_fn")
	}
	if dir := f.CompDir(fn.Addr + 1); !strings.HasSuffix(dir, "dwarfsym/testdata") {
		t.Errorf("CompDir(task_fn+1) = %q, want the testdata directory", dir)
	}
	if dir := f.CompDir(0x1234); dir != "" {
		t.Errorf("CompDir(0x1234) = %q, want none", dir)
	}
}
