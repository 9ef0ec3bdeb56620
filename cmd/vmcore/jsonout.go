package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/repl"
)

// Every -json output is JSON Lines: one object per line, each carrying
// "schema" ("vmcore.<kind>/<version>": which record it is and which
// version of that record's schema, documented in docs/json.md and
// cmd/vmcore/schema/) and "dump" (the file or files of the dump it comes
// from), so that the records of several dumps form one stream. A dump
// that cannot be read gives a vmcore.error record, and the exit status
// is 1.
const (
	schemaInfo       = "vmcore.info/1"
	schemaLog        = "vmcore.log/1"
	schemaTask       = "vmcore.task/1"
	schemaBacktrace  = "vmcore.backtrace/1"
	schemaError      = "vmcore.error/1"
	schemaWarning    = "vmcore.warning/1"
	schemaMemInfo    = "vmcore.meminfo/1"
	schemaSlabCache  = "vmcore.slabcache/1"
	schemaVMStat     = "vmcore.vmstat/1"
	schemaZone       = "vmcore.zone/1"
	schemaVmapArea   = "vmcore.vmaparea/1"
	schemaMatch      = "vmcore.match/1"
	schemaCacheSlabs = "vmcore.cacheslabs/1"
	schemaZoneFree   = "vmcore.zonefree/1"
	schemaHugePool   = "vmcore.hugepool/1"
	schemaPage       = "vmcore.page/1"
	schemaMemLayout  = "vmcore.memlayout/1"
	schemaAddress    = "vmcore.address/1"
	schemaEntry      = "vmcore.entry/1"
	schemaPageFlag   = "vmcore.pageflag/1"
	schemaTriage     = "vmcore.triage/1"
)

// jsonLines writes records.
type jsonLines struct {
	w io.Writer
	// mismatch, under --force, is why the vmlinux is not the dump's
	// kernel: every record carries it as "vmlinux_mismatch".
	mismatch string
	buf      bytes.Buffer
	enc      *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines {
	j := &jsonLines{w: w}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false) // "<IRQ stack>", "<TASK>" stay readable
	return j
}

// head is the part every record starts with.
type head struct {
	Schema   string   `json:"schema"`
	Dump     []string `json:"dump"`
	Mismatch string   `json:"vmlinux_mismatch,omitempty"`
}

// record writes v, a struct or a map that marshals to a JSON object, with
// the schema and dump fields first.
func (j *jsonLines) record(schema string, dump []string, v any) error {
	j.buf.Reset()
	if err := j.enc.Encode(v); err != nil {
		return err
	}
	body := bytes.TrimSpace(j.buf.Bytes())
	return j.splice(schema, dump, body)
}

// raw writes an object already marshalled (one line), such as a printk
// JSON record, with the schema and dump fields first.
func (j *jsonLines) raw(schema string, dump []string, obj []byte) error {
	return j.splice(schema, dump, bytes.TrimSpace(obj))
}

func (j *jsonLines) splice(schema string, dump []string, body []byte) error {
	if len(body) < 2 || body[0] != '{' {
		return fmt.Errorf("json: a %s record is not an object", schema)
	}
	if dump == nil {
		dump = []string{}
	}
	h, err := json.Marshal(head{schema, dump, j.mismatch})
	if err != nil {
		return err
	}
	line := make([]byte, 0, len(h)+len(body)+2)
	line = append(line, h[:len(h)-1]...) // without its '}'
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		line = append(line, ',')
	}
	line = append(line, body[1:]...)
	line = append(line, '\n')
	_, err = j.w.Write(line)
	return err
}

// fail writes a vmcore.error record for a dump that could not be read (or
// a command that failed on it).
// warn writes a vmcore.warning/1 record: the records that follow are
// partial, and why.
func (j *jsonLines) warn(dump []string, w string) error {
	return j.record(schemaWarning, dump, struct {
		Warning string `json:"warning"`
	}{w})
}

func (j *jsonLines) fail(dump []string, err error) error {
	return j.record(schemaError, dump, struct {
		Error string `json:"error"`
	}{err.Error()})
}

// jsonRun is the -json form of one subcommand on one dump: its record
// stream, and how it says that something failed.
type jsonRun struct {
	jl     *jsonLines
	name   string // the subcommand, for messages
	dump   []string
	stderr io.Writer
}

// startJSON opens the vmlinux and the dump for the -json form of the
// subcommand name, and marks the records when the pair is forced
// (vmlinux_mismatch). When they cannot be opened it prints the
// vmcore.error record and the message itself, and ok is false.
func startJSON(name string, files []string, stdout, stderr io.Writer) (s *repl.Session, r *jsonRun, closeFn func(), ok bool) {
	jl := newJSONLines(stdout)
	s, closeFn, err := openSession(files, stderr)
	if err != nil {
		jl.fail(files, err)
		fmt.Fprintf(stderr, "vmcore %s: %s\n", name, msg(err))
		return nil, nil, nil, false
	}
	if s.Mismatch != nil {
		jl.mismatch = s.Mismatch.Error()
	}
	return s, &jsonRun{jl: jl, name: name, dump: s.Dump.Paths(), stderr: stderr}, closeFn, true
}

// failed writes the vmcore.error record and the message for err, and
// returns the exit status 1.
func (r *jsonRun) failed(err error) int {
	r.jl.fail(r.dump, err)
	fmt.Fprintf(r.stderr, "vmcore %s: %s\n", r.name, msg(err))
	return 1
}

// record writes one record of the given schema; a failed write is
// reported as failed does.
func (r *jsonRun) record(schema string, v any) error { return r.jl.record(schema, r.dump, v) }
