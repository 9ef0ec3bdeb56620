// Command vmcore-fleet triages crash dumps on many machines through a NATS
// JetStream work queue (package fleet):
//
//	vmcore-fleet submit  [-s URL] [-vmlinux FILE] DUMP...   queue dumps (a split set: its files joined by commas)
//	vmcore-fleet worker  [-s URL] [-j N] [-name NAME]       triage queued dumps until interrupted
//	vmcore-fleet collect [-s URL] [-n N]                    print the results as JSON Lines (vmcore.triage/1)
//	vmcore-fleet summary [-s URL] [-n N]                    count the results by fingerprint
//
// URL is the NATS server (default $NATS_URL, else nats://127.0.0.1:4222),
// run with JetStream enabled (nats-server -js).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vmcoretools/vmcore/fleet"
	"github.com/vmcoretools/vmcore/triage"
	"github.com/vmcoretools/vmcore/vmcore"
)

const usage = `usage: vmcore-fleet COMMAND [flags] [args]

  submit  [-s URL] [-vmlinux FILE] DUMP...   queue dumps; a split set is its files joined by commas
  worker  [-s URL] [-j N] [-name NAME]       triage queued dumps until interrupted
  collect [-s URL] [-n N]                    print results as JSON Lines (vmcore.triage/1, vmcore.error/1)
  summary [-s URL] [-n N]                    count results by kind and fingerprint

URL is a NATS server with JetStream (nats-server -js); default $NATS_URL, else
nats://127.0.0.1:4222. Workers must reach the dumps by the paths submitted.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		code := 2
		if len(args) > 0 {
			w, code = stdout, 0
		}
		fmt.Fprint(w, usage)
		return code
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("NATS_URL")
	if def == "" {
		def = nats.DefaultURL
	}
	url := fs.String("s", def, "the NATS server")
	vmlinux := fs.String("vmlinux", "", "submit: the debuginfo vmlinux for these dumps")
	jobs := fs.Int("j", 1, "worker: dumps triaged at once")
	name := fs.String("name", "", "worker: its name in the results (default the host name)")
	n := fs.Int("n", 0, "collect, summary: wait for this many results (0: those published so far)")
	noVmlinux := fs.Bool("no-vmlinux", false, "worker: use no vmlinux, only the dumps' own BTF")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := nats.Connect(*url, nats.Name("vmcore-fleet "+cmd))
	if err != nil {
		fmt.Fprintf(stderr, "vmcore-fleet: %s: %v\n", *url, err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore-fleet: %v\n", err)
		return 1
	}
	if err := fleet.Setup(ctx, js, 30*24*time.Hour); err != nil {
		fmt.Fprintf(stderr, "vmcore-fleet: %v\n", err)
		return 1
	}
	switch cmd {
	case "submit":
		if fs.NArg() == 0 {
			fmt.Fprint(stderr, "vmcore-fleet submit: no dump given\n\n"+usage)
			return 2
		}
		var js2 []fleet.Job
		for _, a := range fs.Args() {
			js2 = append(js2, fleet.Job{Files: strings.Split(a, ","), Vmlinux: *vmlinux})
		}
		ids, err := fleet.Submit(ctx, js, js2...)
		for i, id := range ids {
			fmt.Fprintf(stdout, "%s\t%s\n", id, fs.Arg(i))
		}
		if err != nil {
			fmt.Fprintf(stderr, "vmcore-fleet: %v\n", err)
			return 1
		}
	case "worker":
		if *name == "" {
			*name, _ = os.Hostname()
		}
		w := &fleet.Worker{JS: js, Name: *name, Concurrency: *jobs,
			Options: triage.Options{NoVmlinux: *noVmlinux, Find: &vmcore.FindOptions{}},
			Log:     func(m string) { fmt.Fprintf(stderr, "%s %s\n", time.Now().UTC().Format(time.TimeOnly), m) }}
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "vmcore-fleet: %v\n", err)
			return 1
		}
	case "collect", "summary":
		count := map[string]int{}
		what := map[string]string{}
		err := fleet.Collect(ctx, js, *n, func(r fleet.Result) error {
			if cmd == "collect" {
				_, err := fmt.Fprintf(stdout, "%s\n", r.Record)
				return err
			}
			var rec struct {
				Schema  string `json:"schema"`
				Failure struct {
					Kind    string `json:"kind"`
					Message string `json:"message"`
				} `json:"failure"`
				Fingerprint struct {
					ID        string `json:"id"`
					Signature string `json:"signature"`
				} `json:"fingerprint"`
			}
			json.Unmarshal(r.Record, &rec)
			key := rec.Fingerprint.ID
			switch {
			case rec.Schema != "vmcore.triage/1":
				key, what[key] = "unreadable", "dumps that could not be read"
			case key == "":
				key, what[key] = "undetermined", rec.Failure.Kind+": "+rec.Failure.Message
			default:
				what[key] = rec.Fingerprint.Signature
			}
			count[key]++
			return nil
		})
		if cmd == "summary" {
			keys := make([]string, 0, len(count))
			for k := range count {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				return count[keys[i]] > count[keys[j]] || count[keys[i]] == count[keys[j]] && keys[i] < keys[j]
			})
			for _, k := range keys {
				fmt.Fprintf(stdout, "%6d  %-24s  %s\n", count[k], k, what[k])
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "vmcore-fleet: %v\n", err)
			return 1
		}
	default:
		fmt.Fprintf(stderr, "vmcore-fleet: no command %q\n\n%s", cmd, usage)
		return 2
	}
	return 0
}
