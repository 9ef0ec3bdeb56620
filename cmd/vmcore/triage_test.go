package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vmcore triage on the demo dump (no vmlinux: its own BTF): the record is
// valid against its schema and says what the text says; several dumps
// give one record each, in the order given, at any -j; an unreadable
// dump gives a vmcore.error record and exit status 1; usage errors 2.
func TestTriageCLI(t *testing.T) {
	const demo = "../../testdata/demo/vmcore-6.1-kdump-zstd-d31"
	sch := schemas(t)
	out, errOut, rc := runJ("triage", demo)
	if rc != 0 {
		t.Fatalf("triage: exit %d: %s", rc, errOut)
	}
	for _, want := range []string{"WHAT:        sysrq (sysrq triggered crash)", "FINGERPRINT: sysrq-", "PANIC:       CPU ", "lab-panic", "TYPES:       the dump's own BTF and kallsyms"} {
		if !strings.Contains(out, want) {
			t.Errorf("triage text lacks %q:\n%s", want, out)
		}
	}
	out, errOut, rc = runJ("triage", "-json", demo)
	if rc != 0 {
		t.Fatalf("triage -json: exit %d: %s", rc, errOut)
	}
	recs := validRecords(t, sch, out)
	if len(recs) != 1 || recs[0]["failure"].(map[string]any)["kind"] != "sysrq" {
		t.Fatalf("triage -json: %v", recs)
	}
	id := recs[0]["fingerprint"].(map[string]any)["id"]

	bad := filepath.Join(t.TempDir(), "not-a-dump")
	os.WriteFile(bad, []byte("hello"), 0o644)
	out, _, rc = runJ("triage", "-json", "-j", "3", demo, bad, demo)
	if rc != 1 {
		t.Errorf("triage with an unreadable dump: exit %d, want 1", rc)
	}
	recs = validRecords(t, sch, out)
	if len(recs) != 3 || recs[0]["schema"] != "vmcore.triage/1" || recs[1]["schema"] != "vmcore.error/1" || recs[2]["schema"] != "vmcore.triage/1" ||
		recs[2]["fingerprint"].(map[string]any)["id"] != id {
		t.Errorf("triage -j 3 of three dumps: %d records, %v", len(recs), recs)
	}
	for _, args := range [][]string{{"triage"}, {"triage", "-j", "0", demo}, {"triage", "-nosuchflag", demo}} {
		if _, _, rc := runJ(args...); rc != 2 {
			t.Errorf("vmcore %s: exit %d, want 2", strings.Join(args, " "), rc)
		}
	}
}
