package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaBase = "https://vmcoretools.github.io/schema/"

// schemas compiles every embedded schema, by record kind.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, k := range schemaKinds() {
		b, err := schemaFS.ReadFile("schema/" + k + ".json")
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("schema %s: %v", k, err)
		}
		if err := c.AddResource(schemaBase+k+".json", doc); err != nil {
			t.Fatalf("schema %s: %v", k, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, k := range schemaKinds() {
		s, err := c.Compile(schemaBase + k + ".json")
		if err != nil {
			t.Fatalf("schema %s: %v", k, err)
		}
		out["vmcore."+k+"/1"] = s
	}
	return out
}

// validRecords checks that out is JSON Lines whose every record is valid
// against the schema it names, and returns them decoded.
func validRecords(t *testing.T, sch map[string]*jsonschema.Schema, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err != nil {
			t.Fatalf("line %d is not JSON: %v: %.200s", n, err, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %d is not an object: %v", n, err)
		}
		name, _ := m["schema"].(string)
		s := sch[name]
		if s == nil {
			t.Fatalf("line %d names no known schema: %q", n, name)
		}
		if err := s.Validate(inst); err != nil {
			t.Fatalf("line %d is not a valid %s record: %v\n%.300s", n, name, err, line)
		}
		recs = append(recs, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func runJ(args ...string) (string, string, int) {
	rc, out, errOut := runCmd(args...)
	return out, errOut, rc
}

// TestJSONDemo: info, dmesg and log -json on the committed demo dump are
// JSON Lines valid against their schemas, name their dump, and agree with
// the text forms; several dumps give one stream; a dump that cannot be
// read gives an error record and exit 1; options the JSON has no form
// for are refused with exit 2.
func TestJSONDemo(t *testing.T) {
	sch := schemas(t)
	// The validator is strict: a task record without its fields, or with
	// an address as a number, is refused.
	for _, bad := range []string{`{"schema":"vmcore.task/1","dump":[],"pid":1}`, `{"schema":"vmcore.error/1","dump":["x"],"error":"e","extra":1}`} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		var m map[string]any
		json.Unmarshal([]byte(bad), &m)
		if sch[m["schema"].(string)].Validate(inst) == nil {
			t.Fatalf("%s passed its schema", bad)
		}
	}
	const demo = "../../testdata/demo/vmcore-6.1-kdump-zstd-d31"

	out, errOut, rc := runJ("info", "-json", demo)
	recs := validRecords(t, sch, out)
	if rc != 0 || len(recs) != 1 || recs[0]["schema"] != "vmcore.info/1" || recs[0]["release"] != "6.1.0-56-cloud-amd64" {
		t.Fatalf("info -json: rc %d, %v, %s", rc, recs, errOut)
	}

	text, _, _ := runJ("dmesg", demo)
	out, _, _ = runJ("dmesg", "-json", demo)
	nText := len(validRecords(t, sch, out))
	if nText < 100 || nText > strings.Count(text, "\n") {
		t.Fatalf("dmesg -json: %d records for %d text lines", nText, strings.Count(text, "\n"))
	}
	out, errOut, rc = runJ("dmesg", "-json", demo, demo)
	recs = validRecords(t, sch, out)
	if rc != 0 || len(recs) != 2*nText {
		t.Fatalf("dmesg -json of the dump twice: rc %d, %d records, want %d: %s", rc, len(recs), 2*nText, errOut)
	}
	last := strings.TrimSpace(text[strings.LastIndex(strings.TrimSuffix(text, "\n"), "\n")+1:])
	if got := recs[nText-1]["text"].(string); !strings.HasSuffix(last, got) {
		t.Errorf("dmesg -json's last record %q is not the text's last line %q", got, last)
	}
	for _, r := range recs {
		if d := r["dump"].([]any); len(d) != 1 || d[0] != demo {
			t.Fatalf("record names dump %v", d)
		}
	}

	out, _, rc = runJ("log", "-json", demo)
	if logRecs := validRecords(t, sch, out); rc != 0 || len(logRecs) != nText {
		t.Errorf("log -json: rc %d, %d records, want %d", rc, len(logRecs), nText)
	}

	out, errOut, rc = runJ("dmesg", "-json", demo, "/nonexistent/vmcore")
	recs = validRecords(t, sch, out)
	if rc != 1 || len(recs) != nText+1 || recs[nText]["schema"] != "vmcore.error/1" {
		t.Errorf("dmesg -json with a missing dump: rc %d, %d records (want %d, the last an error): %s", rc, len(recs), nText+1, errOut)
	}
	out, _, rc = runJ("info", "-json", "/nonexistent/vmcore")
	if recs = validRecords(t, sch, out); rc != 1 || len(recs) != 1 || recs[0]["schema"] != "vmcore.error/1" {
		t.Errorf("info -json of a missing dump: rc %d, %v", rc, recs)
	}

	for _, args := range [][]string{
		{"dmesg", "-json", "-T", demo},
		{"log", "-json", "-T", demo},
		{"ps", "-json", demo, demo, "-t"},
		{"bt", "-json", demo, demo, "-x"},
		{"rd", "-json", demo, "-p", "1000"},
	} {
		out, errOut, rc := runJ(args...)
		if rc != 2 || out != "" || errOut == "" {
			t.Errorf("vmcore %s: rc %d, stdout %q, stderr %q; want exit 2 and a message", strings.Join(args, " "), rc, out, errOut)
		}
	}

	out, _, rc = runJ("schema", "task")
	if rc != 0 || !strings.Contains(out, `"vmcore.task/1"`) {
		t.Errorf("schema task: rc %d", rc)
	}
}
