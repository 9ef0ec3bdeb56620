package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vmcoretools/vmcore/internal/lab"
)

var (
	psTextLine = regexp.MustCompile(`^>?\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-f]+)\s+(\S\S)\s`)
	btTextHead = regexp.MustCompile(`^PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)`)
	btTextLine = regexp.MustCompile(`^\s*#(\d+) \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)`)
)

// TestLabJSON runs ps -json and bt -json on real dumps of both kernels,
// ELF and compressed: every record is valid against its schema, and each
// says what the text form says: ps's pid, ppid, cpu, task and state;
// bt -a's tasks and frames (level, slot, function, pc); bt -f and -l add
// words and source lines; -k/-u filter; a selector picks its tasks.
func TestLabJSON(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	n := 0
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Logf("the lab has no %s", name)
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			files := append([]string{d.Vmlinux}, d.Files...)
			cmd := func(args ...string) string {
				out, errOut, rc := runJ(append(append([]string{args[0]}, files...), args[1:]...)...)
				if rc != 0 {
					t.Fatalf("vmcore %s: exit %d: %s", strings.Join(args, " "), rc, errOut)
				}
				return out
			}

			// ps
			var want, got []string
			for _, line := range strings.Split(cmd("ps"), "\n") {
				if m := psTextLine.FindStringSubmatch(line); m != nil {
					want = append(want, strings.Join(m[1:], " "))
				}
			}
			recs := validRecords(t, sch, cmd("ps", "-json"))
			for _, r := range recs {
				got = append(got, strings.Join([]string{num(r["pid"]), num(r["ppid"]), num(r["cpu"]),
					strings.TrimPrefix(r["task"].(string), "0x"), r["state"].(string)}, " "))
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(want, "\n") != strings.Join(got, "\n") || len(want) < 10 {
				t.Errorf("ps -json's %d tasks are not the text ps's %d", len(got), len(want))
			}
			kernel := validRecords(t, sch, cmd("ps", "-json", "-k"))
			user := validRecords(t, sch, cmd("ps", "-json", "-u"))
			if len(kernel)+len(user) != len(recs) || len(kernel) == 0 || len(user) == 0 {
				t.Errorf("ps -json -k (%d) and -u (%d) do not split the %d tasks", len(kernel), len(user), len(recs))
			}
			for _, r := range kernel {
				if r["kernel_thread"] != true {
					t.Errorf("ps -json -k gave a user task: %v", r["comm"])
				}
			}
			if one := validRecords(t, sch, cmd("ps", "-json", "1")); len(one) != 1 || num(one[0]["pid"]) != "1" {
				t.Errorf("ps -json 1: %v", one)
			}

			// bt -a
			want, got = nil, nil
			for _, line := range strings.Split(cmd("bt", "-a"), "\n") {
				if m := btTextHead.FindStringSubmatch(line); m != nil {
					want = append(want, "task "+m[1]+" "+m[2]+" "+m[3])
				} else if m := btTextLine.FindStringSubmatch(line); m != nil {
					want = append(want, strings.Join(m[1:], " "))
				}
			}
			bts := validRecords(t, sch, cmd("bt", "-json", "-a"))
			for _, r := range bts {
				got = append(got, "task "+num(r["pid"])+" "+strings.TrimPrefix(r["task"].(string), "0x")+" "+num(r["cpu"]))
				for _, f := range r["frames"].([]any) {
					fr := f.(map[string]any)
					if fr["exception"] != nil && fr["function"] == nil {
						continue
					}
					got = append(got, strings.Join([]string{num(fr["level"]), strings.TrimPrefix(fr["slot"].(string), "0x"),
						str(fr["function"]), strings.TrimPrefix(fr["pc"].(string), "0x")}, " "))
				}
			}
			if strings.Join(want, "\n") != strings.Join(got, "\n") || len(bts) < 2 {
				t.Errorf("bt -json -a differs from the text bt -a:\n--- text\n%s\n--- json\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}

			// bt -f -l of the panic task (the default, as the text form)
			panicBt := validRecords(t, sch, cmd("bt", "-json", "-f", "-l"))
			if len(panicBt) != 1 || panicBt[0]["panic"] != true {
				t.Fatalf("bt -json: %d records, want the panic task's", len(panicBt))
			}
			words, lines := 0, 0
			for _, f := range panicBt[0]["frames"].([]any) {
				fr := f.(map[string]any)
				if ws, ok := fr["words"].([]any); ok && len(ws) > 0 {
					words++
				}
				if fr["file"] != nil && fr["line"] != nil {
					lines++
				}
			}
			if words < 3 || lines < 3 {
				t.Errorf("bt -json -f -l: %d frames with words, %d with lines", words, lines)
			}
			if u, ok := panicBt[0]["frames"].([]any); !ok || len(u) < 5 {
				t.Errorf("bt -json: the panic task has %d frames", len(u))
			}
		})
	}
	if n == 0 {
		t.Fatal("none of the dumps is in the lab")
	}
}

func num(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestLabJSONLog runs info, dmesg and log -json on real dumps of both
// kernels, ELF and compressed: every record is valid against its schema;
// info's record says what the text info says; dmesg -json has one record
// per text line's record with the same timestamps and texts; log -json
// (with the vmlinux) gives the same records; dmesg -json over two dumps of
// different kernels is the first dump's records, then the second's, each
// naming its own dump, and nothing else.
func TestLabJSONLog(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	type logged struct {
		files []string
		recs  []map[string]any
	}
	var seen []logged
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Logf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			run := func(args ...string) string {
				out, errOut, rc := runJ(args...)
				if rc != 0 {
					t.Fatalf("vmcore %s: exit %d: %s", strings.Join(args, " "), rc, errOut)
				}
				return out
			}
			text := run(append([]string{"info"}, d.Files...)...)
			info := validRecords(t, sch, run(append([]string{"info", "-json"}, d.Files...)...))
			if len(info) != 1 {
				t.Fatalf("info -json: %d records", len(info))
			}
			for _, kv := range [][2]string{{"release", str(info[0]["release"])}, {"build-id", str(info[0]["build_id"])},
				{"format", str(info[0]["format"])}, {"cpus", num(info[0]["cpus"])}} {
				if !regexp.MustCompile(`(?m)^`+kv[0]+`:\s+`+regexp.QuoteMeta(kv[1])+`$`).MatchString(text) || kv[1] == "" {
					t.Errorf("info -json's %s %q is not the text's:\n%s", kv[0], kv[1], text)
				}
			}

			text = run(append([]string{"dmesg"}, d.Files...)...)
			recs := validRecords(t, sch, run(append([]string{"dmesg", "-json"}, d.Files...)...))
			// The text has one "[ seconds.micros] " line per record, and
			// its continuation lines; compare the records' first lines.
			var want, got []string
			for _, line := range strings.Split(text, "\n") {
				if strings.HasPrefix(line, "[") {
					want = append(want, line)
				}
			}
			for _, r := range recs {
				ns := int64(r["ts_nsec"].(float64))
				first, _, _ := strings.Cut(r["text"].(string), "\n")
				got = append(got, fmt.Sprintf("[%5d.%06d] %s", ns/1e9, ns%1e9/1e3, first))
				if fmt.Sprint(r["dump"]) != fmt.Sprint(d.Files) {
					t.Fatalf("record names dump %v, not %v", r["dump"], d.Files)
				}
			}
			if len(recs) < 100 || strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Errorf("dmesg -json's %d records are not the text's %d:\n%s", len(got), len(want), firstDiff(strings.Join(want, "\n"), strings.Join(got, "\n")))
			}
			logRecs := validRecords(t, sch, run(append([]string{"log", "-json", d.Vmlinux}, d.Files...)...))
			if len(logRecs) != len(recs) {
				t.Errorf("log -json: %d records, dmesg -json %d", len(logRecs), len(recs))
			}
			for i := range min(len(logRecs), len(recs)) {
				if logRecs[i]["seq"] != recs[i]["seq"] || logRecs[i]["text"] != recs[i]["text"] {
					t.Errorf("log -json record %d differs from dmesg -json's", i)
					break
				}
			}
			seen = append(seen, logged{d.Files, recs})
		})
	}
	if len(seen) < 2 {
		t.Fatal("fewer than two of the dumps are in the lab")
	}
	// Two dumps of different kernels in one call.
	a, b := seen[0], seen[len(seen)-1]
	out, errOut, rc := runJ(append(append([]string{"dmesg", "-json"}, a.files...), b.files...)...)
	if rc != 0 {
		t.Fatalf("dmesg -json over two dumps: exit %d: %s", rc, errOut)
	}
	recs := validRecords(t, sch, out)
	if len(recs) != len(a.recs)+len(b.recs) {
		t.Fatalf("dmesg -json over two dumps: %d records, want %d+%d", len(recs), len(a.recs), len(b.recs))
	}
	for i, r := range recs {
		want := a
		j := i
		if i >= len(a.recs) {
			want, j = b, i-len(a.recs)
		}
		if fmt.Sprint(r["dump"]) != fmt.Sprint(want.recs[j]["dump"]) || r["seq"] != want.recs[j]["seq"] || r["text"] != want.recs[j]["text"] {
			t.Fatalf("record %d of the stream (%v seq %v) is not record %d of %v", i, r["dump"], r["seq"], j, want.files)
		}
	}
}

// TestLabJSONAll checks ps -json -G and bt -json -A on one real dump
// against the text forms: -G gives the thread group leaders ps -G lists,
// and -A one trace per task with the text's frames.
func TestLabJSONAll(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	d := l.Dump("k61-kdump-zlib-d31")
	if d == nil {
		t.Skip("the lab has no k61-kdump-zlib-d31")
	}
	files := append([]string{d.Vmlinux}, d.Files...)
	cmd := func(args ...string) string {
		out, errOut, rc := runJ(append(append([]string{args[0]}, files...), args[1:]...)...)
		if rc != 0 {
			t.Fatalf("vmcore %s: exit %d: %s", strings.Join(args, " "), rc, errOut)
		}
		return out
	}
	var want, got []string
	for _, line := range strings.Split(cmd("ps", "-G"), "\n") {
		if m := psTextLine.FindStringSubmatch(line); m != nil {
			want = append(want, m[1]+" "+m[4])
		}
	}
	all := validRecords(t, sch, cmd("ps", "-json"))
	for _, r := range validRecords(t, sch, cmd("ps", "-json", "-G")) {
		got = append(got, num(r["pid"])+" "+strings.TrimPrefix(r["task"].(string), "0x"))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(want, "\n") != strings.Join(got, "\n") || len(got) == 0 {
		t.Errorf("ps -json -G's %d tasks (of %d) are not ps -G's %d", len(got), len(all), len(want))
	}

	want, got = nil, nil
	for _, line := range strings.Split(cmd("bt", "-A"), "\n") {
		if m := btTextHead.FindStringSubmatch(line); m != nil {
			want = append(want, "task "+m[1]+" "+m[2])
		} else if m := btTextLine.FindStringSubmatch(line); m != nil {
			want = append(want, m[1]+" "+m[3])
		}
	}
	bts := validRecords(t, sch, cmd("bt", "-json", "-A"))
	for _, r := range bts {
		got = append(got, "task "+num(r["pid"])+" "+strings.TrimPrefix(r["task"].(string), "0x"))
		for _, f := range r["frames"].([]any) {
			fr := f.(map[string]any)
			if fr["exception"] != nil && fr["function"] == nil {
				continue
			}
			got = append(got, num(fr["level"])+" "+str(fr["function"]))
		}
	}
	if len(bts) != len(all) || strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Errorf("bt -json -A: %d traces for %d tasks, or frames unlike bt -A's:\n%s", len(bts), len(all), firstDiff(strings.Join(want, "\n"), strings.Join(got, "\n")))
	}
}

// TestLabJSONMemInfo runs kmem -i -json on dumps of both kernels, ELF and
// compressed: the record is valid against its schema and its counts are
// crash 8.0.6's kmem -i numbers for the same dump.
func TestLabJSONMemInfo(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			out, errOut, rc := runJ(append(append([]string{"kmem", "-json", d.Vmlinux}, d.Files...), "-i")...)
			if rc != 0 {
				t.Fatalf("exit %d: %s", rc, errOut)
			}
			recs := validRecords(t, sch, out)
			if len(recs) != 1 || recs[0]["schema"] != "vmcore.meminfo/1" {
				t.Fatalf("records: %v", recs)
			}
			r := recs[0]
			b, err := os.ReadFile(d.RefFile("crash-8.0.6", "kmem-i.txt"))
			if err != nil {
				t.Fatal(err)
			}
			ref := string(b)
			for label, field := range map[string]string{"TOTAL MEM": "total_pages", "FREE": "free_pages", "SHARED": "shared_pages",
				"BUFFERS": "buffer_pages", "CACHED": "cached_pages", "SLAB": "slab_pages"} {
				want := ""
				for _, line := range strings.Split(ref, "\n") {
					if f := strings.Fields(strings.TrimPrefix(line, " ")); strings.HasPrefix(strings.TrimSpace(line), label+" ") && len(f) > len(strings.Fields(label)) {
						want = f[len(strings.Fields(label))]
					}
				}
				if got := num(r[field]); got != want || want == "" {
					t.Errorf("%s: %s, crash %q", field, got, want)
				}
			}
		})
	}
}

// TestLabJSONKmem runs kmem -json -s, -V and -z on dumps of both kernels:
// every record is valid against its schema, and says what crash 8.0.6's
// kmem -s, -V and -z print for the same dump (lab group kmem).
func TestLabJSONKmem(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			run := func(opt ...string) []map[string]any { return labJSON(t, sch, d, "kmem", opt...) }
			ref := func(file string) []string { return groupRef(t, d, "kmem/"+file) }
			// -s: crash's lines are "CACHE OBJSIZE ALLOCATED TOTAL SLABS SSIZE NAME".
			var want, got []string
			for _, line := range ref("kmem-s.txt")[1:] {
				f := strings.Fields(line)
				want = append(want, strings.Join([]string{f[0], f[1], f[2], f[3], f[4], f[6]}, " "))
			}
			for _, r := range run("-s") {
				got = append(got, strings.Join([]string{strings.TrimPrefix(r["addr"].(string), "0x"), num(r["object_size"]),
					num(r["allocated"]), num(r["total"]), num(r["slabs"]), r["name"].(string)}, " "))
			}
			if strings.Join(want, "\n") != strings.Join(got, "\n") || len(want) < 50 {
				t.Errorf("kmem -s -json says other than crash's kmem -s (%d and %d caches)", len(got), len(want))
			}
			// -V: every counter crash prints, with its value.
			crashV := map[string]string{}
			for _, line := range ref("kmem-V.txt") {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), ": "); ok {
					crashV[k] = v
				}
			}
			recs := run("-V")
			n := 0
			for _, sec := range []string{"zone", "node", "numa", "events"} {
				list, _ := recs[0][sec].([]any)
				for _, c := range list {
					m := c.(map[string]any)
					n++
					if crashV[m["name"].(string)] != num(m["value"]) {
						t.Errorf("-V %s: %s, crash %q", m["name"], num(m["value"]), crashV[m["name"].(string)])
					}
				}
			}
			if n != len(crashV) || n < 50 {
				t.Errorf("-V: %d counters, crash %d", n, len(crashV))
			}
			// -z: the zones' headers.
			var zw, zg []string
			for _, line := range ref("kmem-z.txt") {
				if strings.HasPrefix(line, "NODE: ") {
					zw = append(zw, line)
				}
			}
			for _, r := range run("-z") {
				zg = append(zg, fmt.Sprintf("NODE: %s  ZONE: %s  ADDR: %s  NAME: %q", num(r["node"]), num(r["index"]),
					strings.TrimPrefix(r["addr"].(string), "0x"), r["name"]))
			}
			if strings.Join(zw, "\n") != strings.Join(zg, "\n") || len(zw) < 3 {
				t.Errorf("-z zones:\n%s\ncrash:\n%s", strings.Join(zg, "\n"), strings.Join(zw, "\n"))
			}
		})
	}
}

// TestLabJSONSearch runs search -json and kmem -json -v on dumps of both
// kernels: every record is valid against its schema and says what crash
// 8.0.6's search -p -c and kmem -v print for the same dump (lab groups
// search and kmem); a filtered dump's missing pages end the stream with a
// warning.
func TestLabJSONSearch(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			ref := func(file string) []string { return groupRef(t, d, file) }
			out, errOut, rc := runJ(append(append([]string{"search", "-json", d.Vmlinux}, d.Files...), "-p", "-c", "Linux version")...)
			if rc != 0 {
				t.Fatalf("search -json: exit %d: %s", rc, errOut)
			}
			var got []string
			warned := false
			for _, r := range validRecords(t, sch, out) {
				if r["schema"] == "vmcore.warning/1" {
					warned = true
					continue
				}
				text, err := base64.StdEncoding.DecodeString(r["text"].(string))
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range text {
					if c < 0x20 || c >= 0x7f {
						text[i] = '.'
					}
				}
				got = append(got, strings.TrimPrefix(r["address"].(string), "0x")+": "+string(text))
			}
			want := ref("search/search-p-c.txt")
			if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 2 {
				t.Errorf("search -json:\n%s\ncrash:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if warned != strings.Contains(name, "d31") {
				t.Errorf("warning record: %v", warned)
			}
			out, errOut, rc = runJ(append(append([]string{"kmem", "-json", d.Vmlinux}, d.Files...), "-v")...)
			if rc != 0 {
				t.Fatalf("kmem -json -v: exit %d: %s", rc, errOut)
			}
			got = nil
			for _, r := range validRecords(t, sch, out) {
				got = append(got, fmt.Sprintf("%s %s %s %s %s", r["vmap_area"], r["vm_struct"], r["start"], r["end"], num(r["size"])))
			}
			want = nil
			for _, line := range ref("kmem/kmem-v.txt")[1:] {
				f := strings.Fields(line)
				want = append(want, fmt.Sprintf("0x%s 0x%s 0x%s 0x%s %s", f[0], f[1], f[2], f[4], f[5]))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 50 {
				t.Errorf("kmem -json -v: %d areas, crash %d, or they differ", len(got), len(want))
			}
		})
	}
}

// TestLabJSONKmemViews runs kmem -json -S, -f, -h, -n and -p ADDRESS on dumps
// of both kernels: every record is valid against its schema and holds what
// crash 8.0.6's kmem -S pid, -f, -h and -p 1000000 print for the same dump
// (lab group kmem).
func TestLabJSONKmemViews(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	for _, name := range []string{"k61-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			run := func(opt ...string) []map[string]any { return labJSON(t, sch, d, "kmem", opt...) }
			ref := func(file string) []string { return groupRef(t, d, "kmem/"+file) }
			// -S pid: every object, free or [allocated], in crash's order.
			var want, got []string
			for _, line := range ref("kmem-S-pid.txt") {
				if f := strings.Fields(line); len(f) >= 1 && (strings.HasPrefix(line, "  [") || strings.HasPrefix(line, "   ")) && len(f[0]) > 8 {
					want = append(want, strings.Trim(f[0], "[]")+map[bool]string{true: " free", false: " used"}[!strings.HasPrefix(line, "  [")])
				}
			}
			cs := run("-S", "pid")[0]
			for _, c := range cs["cpus"].([]any) {
				cpu := c.(map[string]any)
				var slabs []any
				if s, ok := cpu["slab"]; ok {
					slabs = append(slabs, s)
				}
				if p, ok := cpu["partial"].([]any); ok {
					slabs = append(slabs, p...)
				}
				for _, s := range slabs {
					for _, o := range s.(map[string]any)["slots"].([]any) {
						slot := o.(map[string]any)
						got = append(got, strings.TrimPrefix(slot["addr"].(string), "0x")+map[bool]string{true: " free", false: " used"}[slot["free"].(bool)])
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 32 {
				t.Errorf("-S pid: %d objects, crash %d, or they differ", len(got), len(want))
			}
			// -f: the blocks of every list of the zones crash lists.
			want, got = nil, nil
			for _, line := range ref("kmem-f.txt") {
				if f := strings.Fields(line); len(f) == 5 && strings.HasSuffix(f[1], "k") {
					want = append(want, f[2]+" "+f[3])
				}
			}
			for _, z := range run("-f") {
				if num(z["free_pages"]) == "0" {
					continue
				}
				for _, l := range z["lists"].([]any) {
					m := l.(map[string]any)
					got = append(got, strings.TrimPrefix(m["addr"].(string), "0x")+" "+num(m["blocks"]))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 50 {
				t.Errorf("-f: %d lists, crash %d, or they differ", len(got), len(want))
			}
			// -h and -p ADDRESS.
			want, got = ref("kmem-h.txt")[1:], nil
			for _, p := range run("-h") {
				got = append(got, p["name"].(string))
			}
			if len(got) != len(want) || len(want) == 0 || !strings.HasSuffix(want[len(want)-1], got[len(got)-1]) {
				t.Errorf("-h: %q, crash %q", got, want)
			}
			// -g and -g FLAGS: the flags, bits and values crash lists.
			for _, g := range []struct{ file, flags string }{{"kmem-g.txt", ""}, {"kmem-g-flags.txt", "4000"}, {"kmem-g-none.txt", "8000000000000000"}} {
				want, got = nil, nil
				for _, line := range ref(g.file) {
					if f := strings.Fields(line); len(f) == 3 && strings.HasPrefix(f[0], "PG_") {
						v, _ := strconv.ParseUint(f[2], 16, 64)
						want = append(want, fmt.Sprintf("%s %s %#x", f[0], f[1], v))
					}
				}
				args := []string{"-g"}
				if g.flags != "" {
					args = append(args, g.flags)
				}
				for _, r := range run(args...) {
					got = append(got, fmt.Sprintf("%s %s %s", r["name"], num(r["bit"]), r["value"]))
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") || g.flags == "" && len(want) < 20 {
					t.Errorf("-g %s:\n%s\ncrash:\n%s", g.flags, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			// -n: the sections and memory blocks crash lists.
			want, got = nil, nil
			for _, line := range ref("kmem-n.txt") {
				if f := strings.Fields(line); len(f) == 6 && strings.HasPrefix(f[4], "P") {
					want = append(want, f[0]+" "+f[1]+" "+f[3])
				}
				if f := strings.Fields(line); len(f) == 8 && strings.HasPrefix(f[1], "memory") {
					want = append(want, f[1]+" "+f[2]+"-"+f[4]+" "+f[7])
				}
			}
			lay := run("-n")[0]
			for _, sec := range lay["sections"].([]any) {
				m := sec.(map[string]any)
				got = append(got, num(m["nr"])+" "+strings.TrimPrefix(m["mem_section"].(string), "0x")+" "+strings.TrimPrefix(m["mem_map"].(string), "0x"))
			}
			for _, b := range lay["memory_blocks"].([]any) {
				m := b.(map[string]any)
				got = append(got, fmt.Sprintf("%s %s-%s %s", m["name"], strings.TrimPrefix(m["start"].(string), "0x"), strings.TrimPrefix(m["end"].(string), "0x"), num(m["start_section_nr"])))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 8 {
				t.Errorf("-n:\n%s\ncrash:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			pg := run("-p", "1000000")[0]
			line := ref("kmem-p-phys.txt")[1]
			if f := strings.Fields(line); len(f) < 6 || "0x"+f[0] != pg["page"] || "0x"+f[1] != pg["phys"] || "0x"+f[5] != pg["flags"] {
				t.Errorf("-p 1000000: %v, crash %q", pg, line)
			}
		})
	}
}

// labJSON runs "vmcore SUB -json VMLINUX DUMP ARGS..." on a lab dump and
// returns its records, each checked against its schema.
func labJSON(t *testing.T, sch map[string]*jsonschema.Schema, d *lab.Dump, sub string, args ...string) []map[string]any {
	t.Helper()
	out, errOut, rc := runJ(append(append([]string{sub, "-json", d.Vmlinux}, d.Files...), args...)...)
	if rc != 0 {
		t.Fatalf("%s -json %s: exit %d: %s", sub, args, rc, errOut)
	}
	return validRecords(t, sch, out)
}

// groupRef is crash's output of a lab group command (GROUP/FILE.txt) on
// a dump, by lines; the test is skipped when the lab has not recorded it.
func groupRef(t *testing.T, d *lab.Dump, file string) []string {
	t.Helper()
	b, err := os.ReadFile(d.RefFile("crash-8.0.6-groups", file))
	if err != nil {
		t.Skipf("no crash reference: %v", err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// TestLabJSONAddress checks vmcore.address records against crash's kmem
// ADDRESS for every address of the kmem group: the symbol, the vmalloc
// area, the slab cache and object, the free block, the task and the
// struct page crash names are the record's.
func TestLabJSONAddress(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	for _, name := range []string{"k61-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			cmds := groupRef(t, d, "kmem/commands.txt")
			checked := 0
			for _, c := range cmds {
				f := strings.Fields(c)
				if len(f) != 4 || f[0] != "kmem" || !strings.Contains(f[3], "/kmem-addr-") || f[1] == "schedule" {
					continue
				}
				file := filepath.Base(f[3])
				want := groupRef(t, d, "kmem/"+file)
				rec := labJSON(t, sch, d, "kmem", f[1])[0]
				if err := addressAgrees(rec, want); err != nil {
					t.Errorf("kmem -json %s (%s): %v\ncrash:\n%s", f[1], file, err, strings.Join(want, "\n"))
				}
				checked++
			}
			if checked < 10 {
				t.Errorf("%d addresses checked, want every kmem-addr command", checked)
			}
		})
	}
}

// addressAgrees compares one vmcore.address record with crash's kmem
// ADDRESS text.
func addressAgrees(rec map[string]any, crash []string) error {
	field := func(path ...string) string {
		var v any = rec
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			v = m[p]
		}
		if s, ok := v.(string); ok {
			return strings.TrimPrefix(s, "0x")
		}
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b)
		}
		if v == nil {
			return ""
		}
		return num(v)
	}
	var sym, cache, object, vmap, pid, freePage, page, phys string
	noPage := false
	for i, line := range crash {
		f := strings.Fields(line)
		switch {
		case i == 0 && len(f) >= 3 && (f[1] == "(T)" || f[1] == "(t)" || f[1] == "(D)" || f[1] == "(d)" || f[1] == "(B)" || f[1] == "(b)" || f[1] == "(R)" || f[1] == "(r)"):
			sym, _, _ = strings.Cut(f[2], "+")
		case strings.HasPrefix(line, "CACHE ") && i+1 < len(crash):
			g := strings.Fields(crash[i+1])
			cache = g[len(g)-1]
		case strings.HasPrefix(line, "  FREE / [ALLOCATED]") && i+1 < len(crash):
			object = strings.Trim(strings.Fields(crash[i+1])[0], "[]")
			if !strings.HasPrefix(crash[i+1], "  [") {
				object += " free"
			}
		case strings.HasPrefix(line, "   VMAP_AREA") && i+1 < len(crash):
			vmap = strings.Fields(crash[i+1])[0]
		case strings.HasPrefix(line, "    PID: ") && pid == "":
			pid = f[1]
		case strings.HasPrefix(line, "AREA ") && i+2 < len(crash):
			freePage = strings.Fields(crash[i+2])[0]
		case strings.HasPrefix(line, "      PAGE ") && i+1 < len(crash):
			g := strings.Fields(crash[i+1])
			page, phys = g[0], g[1]
		case strings.Contains(line, "address not found in mem map"):
			noPage = true
		}
	}
	var errs []string
	check := func(what, got, want string) {
		if got != want {
			errs = append(errs, fmt.Sprintf("%s %q, crash %q", what, got, want))
		}
	}
	check("symbol", field("symbol", "name"), sym)
	check("cache", field("slab", "cache", "name"), cache)
	obj := field("slab", "object")
	if obj != "" && field("slab", "free") == "true" {
		obj += " free"
	}
	check("object", obj, object)
	check("vmap area", field("vmap_area", "vmap_area"), vmap)
	gotPID := field("task", "pid")
	if gotPID == "" {
		gotPID = field("stack_of", "pid")
	}
	check("task", gotPID, pid)
	check("free block", field("free_block", "page"), freePage)
	if noPage {
		check("page", field("page", "page"), "")
	} else {
		check("page", field("page", "page"), page)
		if p := field("page", "phys"); p != phys {
			errs = append(errs, fmt.Sprintf("page phys %q, crash %q", p, phys))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// TestLabJSONWalk checks vmcore.entry records of vmcore list and tree
// against crash's list and tree with -s (and tree -p) on both kernels:
// the same entries in the same order, their places, and each member's
// value as crash prints it.
func TestLabJSONWalk(t *testing.T) {
	l := lab.Open(t)
	sch := schemas(t)
	for _, name := range []string{"k61-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			for _, file := range []string{"list/list-tasks-s", "list/list-modules-s2", "tree/tree-pid-p-s"} {
				group, base, _ := strings.Cut(file, "/")
				var args []string
				for _, c := range groupRef(t, d, group+"/commands.txt") {
					if cmd, out, ok := strings.Cut(c, " > "); ok && filepath.Base(out) == base+".txt" {
						args = strings.Fields(cmd)
					}
				}
				if args == nil {
					t.Fatalf("%s: not in the group's commands", file)
				}
				want := walkText(groupRef(t, d, file+".txt"))
				var got []string
				for _, r := range labJSON(t, sch, d, args[0], args[1:]...) {
					got = append(got, walkRecordText(r))
				}
				if diff := cmp.Diff(want, got); diff != "" || len(want) < 2 {
					t.Errorf("%s: %d entries, crash %d (-crash +json):\n%s", strings.Join(args, " "), len(got), len(want), diff)
				}
			}
		})
	}
}

// walkText reads crash's list or tree -s output into one line per entry:
// "address [index position] member=value...", values as crash prints
// them less their NUL padding and trailing comma.
func walkText(lines []string) []string {
	var out []string
	for _, line := range lines {
		switch {
		case !strings.HasPrefix(line, " "):
			out = append(out, line)
		case len(out) == 0:
		case strings.HasPrefix(line, "  index: "):
			f := strings.Fields(line)
			out[len(out)-1] += " " + f[1] + " " + f[3]
		default:
			m, v, _ := strings.Cut(strings.TrimSpace(line), " = ")
			v = strings.Trim(strings.ReplaceAll(strings.TrimSuffix(v, ","), `\000`, ""), `"`)
			out[len(out)-1] += " " + m + "=" + v
		}
	}
	return out
}

// walkRecordText is a vmcore.entry record as walkText reads crash's.
func walkRecordText(r map[string]any) string {
	s := strings.TrimPrefix(r["address"].(string), "0x")
	if p, ok := r["position"]; ok {
		s += " " + num(r["index"]) + " " + p.(string)
	}
	structs, _ := r["structs"].([]any)
	for _, st := range structs {
		m := st.(map[string]any)
		val := m["value"].(map[string]any)
		for _, name := range m["members"].([]any) {
			v := val[name.(string)]
			text := fmt.Sprint(v)
			if _, isNum := v.(float64); isNum {
				text = num(v)
			}
			s += " " + name.(string) + "=" + text
		}
	}
	return s
}
