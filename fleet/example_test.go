package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vmcoretools/vmcore/fleet"
)

// A JetStream server (here embedded; in a fleet, nats-server -js), one
// job, one worker, and the result read back.
func Example() {
	dir, _ := os.MkdirTemp("", "fleet-example")
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(10 * time.Second)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := fleet.Setup(ctx, js, time.Hour); err != nil {
		log.Fatal(err)
	}

	fleet.Submit(ctx, js, fleet.Job{ID: "demo", Files: []string{"../testdata/demo/vmcore-6.1-kdump-zstd-d31"}})
	go (&fleet.Worker{JS: js, Name: "w1"}).Run(ctx)
	fleet.Collect(ctx, js, 1, func(r fleet.Result) error {
		var rec struct {
			Failure struct{ Kind string } `json:"failure"`
		}
		json.Unmarshal(r.Record, &rec)
		fmt.Println(r.Job, r.Worker, rec.Failure.Kind)
		return nil
	})
	// Output: demo w1 sysrq
}
