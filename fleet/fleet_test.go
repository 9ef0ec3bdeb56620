package fleet_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vmcoretools/vmcore/fleet"
	"github.com/vmcoretools/vmcore/triage"
)

// startServer runs an embedded NATS server with JetStream, as the fleet's
// real one runs (nats-server -js), and connects to it.
func startServer(t testing.TB) jetstream.JetStream {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.Setup(context.Background(), js, time.Hour); err != nil {
		t.Fatal(err)
	}
	return js
}

type record struct {
	Schema      string             `json:"schema"`
	Dump        []string           `json:"dump"`
	Error       string             `json:"error"`
	Failure     triage.Failure     `json:"failure"`
	Fingerprint triage.Fingerprint `json:"fingerprint"`
}

// runFleet submits jobs, runs workers until every result is in, and
// returns the results by job ID.
func runFleet(t *testing.T, js jetstream.JetStream, workers, each int, jobs []fleet.Job) (map[string]record, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	ids, err := fleet.Submit(ctx, js, jobs...)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &fleet.Worker{JS: js, Name: "worker-" + string(rune('a'+i)), Concurrency: each, Options: triage.Options{NoVmlinux: false}}
			if err := w.Run(wctx); err != nil && wctx.Err() == nil {
				t.Error(err)
			}
		}()
	}
	unique := map[string]bool{}
	for _, id := range ids {
		unique[id] = true
	}
	recs := map[string]record{}
	byWorker := map[string]string{}
	err = fleet.Collect(ctx, js, len(unique), func(r fleet.Result) error {
		var rec record
		if err := json.Unmarshal(r.Record, &rec); err != nil {
			return err
		}
		recs[r.Job] = rec
		byWorker[r.Job] = r.Worker
		return nil
	})
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, ok := recs[id]; !ok {
			t.Errorf("no result for job %s", id)
		}
	}
	return recs, byWorker
}

// Two workers take the jobs of a queue: each dump's record is the one
// triage gives it directly; an unreadable dump is an error record; a dump
// submitted twice is one job.
func TestFleet(t *testing.T) {
	const demo = "../testdata/demo/vmcore-6.1-kdump-zstd-d31"
	bad := filepath.Join(t.TempDir(), "not-a-dump")
	os.WriteFile(bad, []byte("hello"), 0o644)
	js := startServer(t)
	jobs := []fleet.Job{{Files: []string{demo}}, {Files: []string{bad}}, {Files: []string{demo}}, {ID: "again", Files: []string{demo}}}
	recs, _ := runFleet(t, js, 2, 1, jobs)
	if len(recs) != 3 {
		t.Errorf("%d results, want 3 (the first job submitted twice is one)", len(recs))
	}
	want, err := triage.Open(context.Background(), []string{demo}, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range recs {
		switch {
		case r.Dump[0] == bad:
			if r.Schema != "vmcore.error/1" || r.Error == "" {
				t.Errorf("job %s (not a dump): %+v", id, r)
			}
		case r.Schema != "vmcore.triage/1" || r.Fingerprint.ID != want.Fingerprint.ID || r.Failure.Kind != want.Failure.Kind:
			t.Errorf("job %s: %s %s %s, triage says %s %s", id, r.Schema, r.Failure.Kind, r.Fingerprint.ID, want.Failure.Kind, want.Fingerprint.ID)
		}
	}
}
