package repl

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabCommandsFromBTF runs every command marked FromBTF, with its main
// options, on lab dumps of both kernels (ELF and compressed) with the
// vmlinux withheld, and checks that the output equals the output with the
// vmlinux (and so crash's, which the other lab tests compare with).
func TestLabCommandsFromBTF(t *testing.T) {
	l := lab.Open(t)
	covered0 := map[string]bool{}
	lines := [][]string{
		{"ps"}, {"ps", "-l"}, {"ps", "-p"}, {"ps", "-t"}, {"ps", "-k"}, {"ps", "-u"}, {"ps", "-s"}, {"ps", "-a", "1"}, {"ps", "-g", "1"}, {"ps", "-c", "1"},
		{"bt"}, {"bt", "-a"}, {"bt", "-f"}, {"bt", "1"}, {"bt", "-a", "-f"},
		{"runq"},
		{"mod"},
		{"files"}, {"files", "1"}, {"files", "2"},
		{"foreach", "bt"}, {"foreach", "RU", "task", "-R", "pid,comm"}, {"foreach", "files"}, {"foreach", "vm"},
		{"task"}, {"task", "1"}, {"task", "-R", "pid,comm,se.on_rq", "1"},
		{"set", "1"}, {"vm"}, {"vm", "1"}, {"sig"}, {"sig", "1"},
		{"struct", "task_struct", "init_task"}, {"struct", "-o", "task_struct"},
		{"union", "-o", "bpf_attr"}, {"whatis", "struct", "list_head"}, {"whatis", "init_task"},
		{"kmem", "-i"}, {"kmem", "-s"}, {"kmem", "-V"},
		{"dis", "schedule"}, {"list", "-o", "module.list", "-H", "modules"},
		{"log", "-T"},
	}
	// Compared by TestLabGroupsFromBTF, with their inherent differences
	// (source lines, globals BTF does not type).
	for _, c := range []string{"sym", "p", "search", "tree"} {
		covered0[c] = true
	}
	marked := map[string]bool{}
	for _, c := range table {
		if c.FromBTF {
			marked[c.Name] = true
		}
	}
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31", "k510-elf", "k510-kdump-lzo-d31", "ksid-elf", "ksid-kdump-zstd-d31"} {
		d := l.Dump(name)
		if d == nil {
			if strings.HasPrefix(name, "k61") { // the other kernels: build.sh without --only-6.1
				t.Errorf("the lab has no %s", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			with, without, done := labSessionPair(t, d)
			defer done()
			covered := maps.Clone(covered0)
			lines := lines
			if a, ok := with.Symbols.LookupSymbol("init_task"); ok {
				// struct TYPE ADDRESS: the init task and the panic task.
				lines = append(lines, []string{"struct", "task_struct", fmt.Sprintf("%x", a)})
			}
			if pt, err := with.CurrentTask(); err == nil {
				lines = append(lines, []string{"struct", "task_struct", fmt.Sprintf("%x", pt.Addr), "-x"})
			}
			for _, line := range lines {
				covered[line[0]] = true
				want, wantErr := runLine(t, with, line...)
				got, gotErr := runLine(t, without, line...)
				if strings.TrimSpace(want) == "" && !strings.Contains(wantErr, "excluded by the dump level") {
					// A -d 31 file of 7.2 may lack the task asked for
					// (makedumpfile drops in-use slab pages there): then
					// both sessions must say so alike, below.
					t.Errorf("%s with the vmlinux printed nothing (stderr %q)", strings.Join(line, " "), wantErr)
					continue
				}
				// What stderr says (a user stack a filtered dump lacks)
				// must be the same too.
				if diff := cmp.Diff(want+wantErr, got+gotErr); diff != "" {
					t.Errorf("%s without the vmlinux differs (-vmlinux +BTF):\n%s", strings.Join(line, " "), diff)
				}
			}
			if _, errOut := runLine(t, without, "bt", "-l"); !strings.Contains(errOut, "-l needs the debuginfo vmlinux") {
				t.Errorf("bt -l without the vmlinux: %q", errOut)
			}
			for c := range marked {
				if !covered[c] {
					t.Errorf("%s is marked FromBTF but not compared here", c)
				}
			}
		})
	}
}
