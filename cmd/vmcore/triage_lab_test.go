package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabTriageJSON: vmcore triage -json -j 2 over one dump of each lab
// crash, each vmlinux found by build ID in the kernels' unpacked -dbg
// packages: one record per dump, in the order given, each valid against
// vmcore.triage/1 and with its types from the vmlinux.
func TestLabTriageJSON(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	args := []string{"triage", "-json", "-j", "2"}
	dirs, _ := filepath.Glob(filepath.Join(l.Dir, "kernel", "*", "dbg"))
	for _, d := range dirs {
		args = append(args, "-debug-dir", d)
	}
	var names []string
	for _, d := range l.Dumps {
		if d.ELFTwin == "" && len(d.Files) == 1 {
			args = append(args, d.Files[0])
			names = append(names, d.Name)
		}
	}
	out, errOut, rc := runJ(args...)
	if rc != 0 {
		t.Fatalf("triage: exit %d: %s", rc, errOut)
	}
	recs := validRecords(t, sch, out)
	if len(recs) != len(names) {
		t.Fatalf("%d records for %d dumps", len(recs), len(names))
	}
	for i, r := range recs {
		d := l.Dump(names[i])
		if r["schema"] != "vmcore.triage/1" || r["dump"].([]any)[0] != d.Files[0] {
			t.Errorf("record %d is not %s's triage: %v %v", i, names[i], r["schema"], r["dump"])
			continue
		}
		types := r["types"].(map[string]any)
		if strings.Contains(d.Name, "novmci") {
			// No VMCOREINFO, so no build ID or release to find the
			// vmlinux by: the report says what the dump alone tells.
			if types["source"] != "none" || r["unknown"] == nil {
				t.Errorf("%s: types %v, unknown %v", names[i], types, r["unknown"])
			}
			continue
		}
		if types["source"] != "vmlinux" || !strings.Contains(types["vmlinux"].(string), "/dbg/") {
			t.Errorf("%s: types %v (%v)", names[i], types, r["unknown"])
		}
	}
	t.Logf("%d dumps triaged", len(recs))
}
