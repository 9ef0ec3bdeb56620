package fleet_test

import (
	"context"
	"testing"

	"github.com/vmcoretools/vmcore/fleet"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/triage"
)

// TestLabFleet queues every lab dump with its vmlinux for three workers:
// every dump gets the kind and fingerprint triage gives it on one
// machine, and the work is spread over the workers.
func TestLabFleet(t *testing.T) {
	l := lab.Open(t)
	js := startServer(t)
	var jobs []fleet.Job
	for _, d := range l.Dumps {
		jobs = append(jobs, fleet.Job{ID: d.Name, Files: d.Files, Vmlinux: d.Vmlinux})
	}
	recs, byWorker := runFleet(t, js, 3, 1, jobs)
	workers := map[string]int{}
	for _, d := range l.Dumps {
		r, ok := recs[d.Name]
		if !ok {
			continue
		}
		workers[byWorker[d.Name]]++
		want, err := triage.Open(context.Background(), d.Files, triage.Options{Vmlinux: d.Vmlinux})
		if err != nil {
			t.Fatal(err)
		}
		if r.Schema != "vmcore.triage/1" || r.Failure.Kind != want.Failure.Kind || r.Fingerprint.ID != want.Fingerprint.ID {
			t.Errorf("%s: the fleet says %s %s %s, triage %s %s", d.Name, r.Schema, r.Failure.Kind, r.Fingerprint.ID, want.Failure.Kind, want.Fingerprint.ID)
		}
	}
	t.Logf("%d dumps over workers %v", len(recs), workers)
	if len(workers) < 2 {
		t.Errorf("one worker took every job: %v", workers)
	}
}
