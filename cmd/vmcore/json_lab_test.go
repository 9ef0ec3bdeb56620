package main

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

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
