package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vmcoretools/vmcore/triage"
)

// The streams, subjects and consumer the fleet uses.
const (
	JobStream      = "VMCORE_TRIAGE_JOBS"
	JobSubject     = "vmcore.triage.jobs"
	ResultStream   = "VMCORE_TRIAGE_RESULTS"
	ResultSubject  = "vmcore.triage.results"
	WorkerConsumer = "vmcore-triage-workers"
)

// Job is one dump to triage.
type Job struct {
	// ID names the job; results carry it. Empty: derived from Files and
	// Vmlinux, so that submitting a dump twice is one job.
	ID string `json:"id"`
	// Files are the dump's files (several for a split set), as the
	// workers see them.
	Files []string `json:"files"`
	// Vmlinux is the debuginfo vmlinux to use, "" to let each worker find
	// one by build ID or use the dump's own BTF.
	Vmlinux string `json:"vmlinux,omitempty"`
}

func (j *Job) id() string {
	if j.ID != "" {
		return j.ID
	}
	h := sha256.Sum256([]byte(strings.Join(j.Files, "\x00") + "\x01" + j.Vmlinux))
	return hex.EncodeToString(h[:12])
}

// Result is one job's outcome: the record `vmcore triage -json` prints
// for the dump, with the job's ID and the worker that made it.
type Result struct {
	Job    string `json:"job"`
	Worker string `json:"worker"`
	// Record is the vmcore.triage/1 or vmcore.error/1 record.
	Record json.RawMessage `json:"record"`
}

// Setup creates the two streams (or updates them): the job queue, a work
// queue that keeps a job until a worker acknowledges it, and the results,
// kept for retention.
func Setup(ctx context.Context, js jetstream.JetStream, retention time.Duration) error {
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: JobStream, Subjects: []string{JobSubject}, Retention: jetstream.WorkQueuePolicy,
		Duplicates: time.Hour,
	}); err != nil {
		return fmt.Errorf("fleet: the job stream: %w", err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ResultStream, Subjects: []string{ResultSubject}, MaxAge: retention,
		Duplicates: time.Hour,
	}); err != nil {
		return fmt.Errorf("fleet: the result stream: %w", err)
	}
	return nil
}

// Submit queues jobs; each is delivered to one worker.
func Submit(ctx context.Context, js jetstream.JetStream, jobs ...Job) ([]string, error) {
	var ids []string
	for _, j := range jobs {
		if len(j.Files) == 0 {
			return ids, errors.New("fleet: a job without files")
		}
		j.ID = j.id()
		b, err := json.Marshal(j)
		if err != nil {
			return ids, err
		}
		if _, err := js.Publish(ctx, JobSubject, b, jetstream.WithMsgID(j.ID)); err != nil {
			return ids, fmt.Errorf("fleet: submitting %s: %w", strings.Join(j.Files, ","), err)
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}

// Worker takes jobs from the queue and publishes their results.
type Worker struct {
	JS jetstream.JetStream
	// Name identifies the worker in its results (a host name).
	Name string
	// Concurrency is how many dumps it triages at once (0: 1); each
	// holds one dump open, which bounds its memory.
	Concurrency int
	// Options are the triage options; a job's Vmlinux replaces
	// Options.Vmlinux.
	Options triage.Options
	// AckWait is how long a job may go without a heartbeat before the
	// queue gives it to another worker (0: one minute); MaxDeliver how
	// many times a job is tried (0: 3).
	AckWait    time.Duration
	MaxDeliver int
	// Log, if set, hears each job taken and finished.
	Log func(msg string)
}

// Run serves jobs until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	ack := w.AckWait
	if ack <= 0 {
		ack = time.Minute
	}
	maxd := w.MaxDeliver
	if maxd <= 0 {
		maxd = 3
	}
	cons, err := w.JS.CreateOrUpdateConsumer(ctx, JobStream, jetstream.ConsumerConfig{
		Durable: WorkerConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: ack, MaxDeliver: maxd,
	})
	if err != nil {
		return fmt.Errorf("fleet: the workers' consumer: %w", err)
	}
	n := max(w.Concurrency, 1)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Second))
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					errs <- fmt.Errorf("fleet: fetching a job: %w", err)
					return
				}
				for m := range batch.Messages() {
					w.serve(ctx, m, ack)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// serve triages one job, publishes its result, and acknowledges the job.
func (w *Worker) serve(ctx context.Context, m jetstream.Msg, ack time.Duration) {
	var j Job
	if err := json.Unmarshal(m.Data(), &j); err != nil || len(j.Files) == 0 {
		w.logf("dropping a malformed job: %q", m.Data())
		m.Term()
		return
	}
	w.logf("job %s: %s", j.ID, strings.Join(j.Files, " "))
	// Heartbeats while the dump is read: a large one can take longer than
	// AckWait.
	hb, stop := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(ack / 3)
		defer t.Stop()
		for {
			select {
			case <-hb.Done():
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()
	opt := w.Options
	if j.Vmlinux != "" {
		opt.Vmlinux = j.Vmlinux
	}
	rep, err := triage.Open(ctx, j.Files, opt)
	stop()
	rec, err := Record(j.Files, rep, err)
	if err != nil {
		w.logf("job %s: %v", j.ID, err)
		m.Nak()
		return
	}
	b, _ := json.Marshal(Result{Job: j.ID, Worker: w.Name, Record: rec})
	if _, err := w.JS.Publish(ctx, ResultSubject, b, jetstream.WithMsgID(j.ID)); err != nil {
		w.logf("job %s: publishing its result: %v", j.ID, err)
		m.Nak()
		return
	}
	m.Ack()
	w.logf("job %s: done", j.ID)
}

func (w *Worker) logf(format string, a ...any) {
	if w.Log != nil {
		w.Log(fmt.Sprintf(format, a...))
	}
}

// Record is the JSON record `vmcore triage -json` prints for a report (or
// for the error that kept a dump from being read): the report's fields
// after "schema" and "dump".
func Record(files []string, rep *triage.Report, openErr error) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var err error
	if openErr != nil {
		err = enc.Encode(struct {
			Schema string   `json:"schema"`
			Dump   []string `json:"dump"`
			Error  string   `json:"error"`
		}{"vmcore.error/1", files, openErr.Error()})
	} else {
		err = enc.Encode(struct {
			Schema string   `json:"schema"`
			Dump   []string `json:"dump"`
			*triage.Report
		}{"vmcore.triage/1", files, rep})
	}
	return bytes.TrimSpace(buf.Bytes()), err
}

// Collect reads the results published so far and then waits for more,
// until it has n (or ctx is done); each is handed to fn in the order
// published.
func Collect(ctx context.Context, js jetstream.JetStream, n int, fn func(Result) error) error {
	oc, err := js.OrderedConsumer(ctx, ResultStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("fleet: reading results: %w", err)
	}
	for got := 0; n <= 0 || got < n; {
		m, err := oc.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				if n <= 0 {
					return nil
				}
				continue
			}
			return fmt.Errorf("fleet: reading results: %w", err)
		}
		var r Result
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			return fmt.Errorf("fleet: a malformed result: %w", err)
		}
		got++
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
