package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabTasklistMatchesCrash builds the example and runs it on real dumps
// of both kernels, ELF and compressed: its task list must be crash's ps
// (pid, ppid, cpu, task, state, command) and its backtrace crash's bt of
// the panic task, frame for frame.
func TestLabTasklistMatchesCrash(t *testing.T) {
	l := lab.Open(t)
	bin := filepath.Join(t.TempDir(), "tasklist")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(bin, append([]string{d.Vmlinux}, d.Files...)...).Output()
			if err != nil {
				t.Fatalf("tasklist: %v", err)
			}
			var tasks, frames []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if strings.HasPrefix(line, "#") {
					frames = append(frames, line)
				} else {
					tasks = append(tasks, line)
				}
			}
			sort.Strings(tasks)
			if diff := cmp.Diff(crashPs(t, d.RefFile("crash-8.0.6", "ps.txt")), tasks); diff != "" {
				t.Errorf("task list differs from crash's ps (-crash +tasklist):\n%s", diff)
			}
			if diff := cmp.Diff(crashBt(t, d.RefFile("crash-8.0.6", "bt.txt")), frames); diff != "" {
				t.Errorf("backtrace differs from crash's bt (-crash +tasklist):\n%s", diff)
			}
		})
	}
}

var psLine = regexp.MustCompile(`^>?\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-f]+)\s+(\S\S)\s+\S+\s+\d+\s+\d+\s+(.*)$`)

// crashPs reads crash's ps output as the example prints tasks, sorted.
func crashPs(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		m := psLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		comm := strings.TrimSuffix(strings.TrimPrefix(m[6], "["), "]")
		out = append(out, strings.Join([]string{m[1], m[2], m[3], m[4], m[5], comm}, " "))
	}
	if len(out) < 10 {
		t.Fatalf("%s: only %d tasks", path, len(out))
	}
	sort.Strings(out)
	return out
}

var btLine = regexp.MustCompile(`^\s*(#\d+ \[[0-9a-f]+\] \S+ at [0-9a-f]+)`)

// crashBt reads the frame lines of crash's bt of the panic task.
func crashBt(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if m := btLine.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	if len(out) < 3 {
		t.Fatalf("%s: only %d frames", path, len(out))
	}
	return out
}
