package vmcore_test

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

var (
	crashPsLine   = regexp.MustCompile(`^>?\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-f]+)\s+(\S\S)\s+\S+\s+\d+\s+\d+\s+(.*)$`)
	crashRunqCPU  = regexp.MustCompile(`^CPU (\d+) RUNQUEUE`)
	crashRunqCurr = regexp.MustCompile(`^  CURRENT: PID: (\d+)\s+TASK: [0-9a-f]+\s+COMMAND: "(.*)"$`)
	crashRunqTask = regexp.MustCompile(`^\s+\[\s*\d+\] PID: (\d+)\s+TASK: [0-9a-f]+\s+COMMAND: "(.*)"$`)
)

// TestLabExamplesModel runs ExampleLoad, ExampleKernel_RunQueues and
// ExampleKernel_walk on real dumps of both kernels and checks what they
// print against crash 8.0.6's ps and runq for the same dump, and the walks
// against the task table.
func TestLabExamplesModel(t *testing.T) {
	l := lab.Open(t)
	n := 0
	for _, name := range []string{"k61-kdump-zlib-d31", "q61-panic-elf", "k612-elf", "q612-panic-zlib"} {
		d := l.Dump(name)
		if d == nil {
			t.Logf("the lab has no %s", name)
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			exampleDump, exampleVmlinux = d.Files[0], d.Vmlinux
			// ExampleLoad against crash's ps.
			var want []string
			for _, line := range readLines(t, d.RefFile("crash-8.0.6", "ps.txt")) {
				if m := crashPsLine.FindStringSubmatch(line); m != nil {
					comm := strings.TrimSuffix(strings.TrimPrefix(m[6], "["), "]")
					want = append(want, strings.Join([]string{m[1], m[2], m[3], m[4], m[5], comm}, " "))
				}
			}
			got := strings.Split(strings.TrimSpace(captureStdout(t, ExampleLoad)), "\n")
			sort.Strings(want)
			sort.Strings(got)
			if len(want) < 10 {
				t.Fatalf("crash's ps has %d tasks", len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ExampleLoad (-crash ps +example):\n%s", diff)
			}

			// ExampleKernel_RunQueues against crash's runq: the running
			// task and the CFS queue of each CPU.
			want = nil
			for _, line := range readLines(t, d.RefFile("crash-8.0.6", "runq.txt")) {
				if m := crashRunqCPU.FindStringSubmatch(line); m != nil {
					want = append(want, "CPU "+m[1])
				} else if m := crashRunqCurr.FindStringSubmatch(line); m != nil {
					want[len(want)-1] += " runs " + m[1] + " " + m[2]
				} else if m := crashRunqTask.FindStringSubmatch(line); m != nil {
					want = append(want, "  queued "+m[1]+" "+m[2])
				}
			}
			got = strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_RunQueues), "\n"), "\n")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ExampleKernel_RunQueues (-crash runq +example):\n%s", diff)
			}

			// ExampleKernel_walk: the processes on init_task.tasks are the
			// thread-group leaders of the task table; each CPU's
			// nr_running counts its running and queued tasks.
			k, err := vmcore.Load(d.Vmlinux, d.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			tb, err := k.Tasks()
			if err != nil {
				t.Fatal(err)
			}
			procs := 0
			for _, tk := range tb.Tasks {
				if tk.PID != 0 && tk.PID == tk.TGID {
					procs++
				}
			}
			rqs, err := k.RunQueues()
			if err != nil {
				t.Fatal(err)
			}
			wantWalk := []string{fmt.Sprint("processes besides init_task: ", procs)}
			for _, rq := range rqs {
				running := len(rq.CFS.Tasks()) + len(rq.RT.Tasks())
				if rq.Current != nil && rq.Current.PID != 0 {
					running++
				}
				wantWalk = append(wantWalk, fmt.Sprintf("CPU %d: %d running", rq.CPU, running))
			}
			got = strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_walk), "\n"), "\n")
			if diff := cmp.Diff(wantWalk, got); diff != "" {
				t.Errorf("ExampleKernel_walk (-task table and run queues +example):\n%s", diff)
			}
		})
	}
	if n == 0 {
		t.Fatal("none of the dumps is in the lab")
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestLabExampleVtop runs ExampleKernel_Vtop on both kernels' dumps and
// checks it against crash 8.0.6's "vtop -k" of linux_banner on the same
// dump: the physical address, every entry below the top one, and the
// struct page's flags.
func TestLabExampleVtop(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k612-elf"}, func(t *testing.T, d *lab.Dump) {
		var ref []string
		for _, line := range readLines(t, d.RefFile("crash-8.0.6-groups", "vtop/vtop-banner.txt")) {
			if strings.TrimSpace(line) != "" {
				ref = append(ref, line)
			}
		}
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Vtop), "\n"), "\n")
		if len(ref) < 9 || len(got) < 4 {
			t.Fatalf("crash printed %d lines, the example %d", len(ref), len(got))
		}
		// crash: "ffffffffa87532e0  385532e0"; the example: "... -> ...".
		if len(strings.Fields(ref[len(ref)-1])) < 2 {
			t.Fatalf("crash's last line %q is no page line", ref[len(ref)-1])
		}
		if f := strings.Fields(ref[1]); len(f) != 2 || got[0] != f[0]+" -> "+f[1] {
			t.Errorf("translation %q, crash %q", got[0], ref[1])
		}
		// crash prints the top entry as "PAGE DIRECTORY", the others as
		// the example does, indented.
		crashSteps := map[string]bool{}
		for _, line := range ref {
			if strings.Contains(line, " => ") {
				crashSteps[strings.TrimSpace(line)] = true
			}
		}
		steps := got[2 : len(got)-1]
		if len(steps) != len(crashSteps) {
			t.Errorf("%d steps below the top, crash printed %d", len(steps), len(crashSteps))
		}
		for _, s := range steps {
			if !crashSteps[s] {
				t.Errorf("step %q not in crash's walk %v", s, crashSteps)
			}
		}
		// The page line: crash ends it with the flags' names.
		page := strings.Fields(ref[len(ref)-1])
		want := fmt.Sprintf("page %s: %s", page[0], page[len(page)-1])
		if got[len(got)-1] != want {
			t.Errorf("page line %q, want %q (crash: %q)", got[len(got)-1], want, ref[len(ref)-1])
		}
	})
}

// TestLabExampleMemory runs ExampleKernel_Memory on both kernels' dumps,
// ELF and compressed, and checks each count against crash 8.0.6's kmem -i
// of the same dump.
func TestLabExampleMemory(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		crash := map[string]string{}
		for _, line := range readLines(t, d.RefFile("crash-8.0.6", "kmem-i.txt")) {
			if f := strings.Fields(line); len(f) >= 2 && strings.ToUpper(f[0]) == f[0] {
				label := strings.Join(f[:len(f)-1], " ")
				for i := range f {
					if _, err := fmt.Sscan(f[i], new(uint64)); err == nil {
						label = strings.Join(f[:i], " ")
						crash[label] = f[i]
						break
					}
				}
			}
		}
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Memory), "\n"), "\n")
		if len(got) != 5 {
			t.Fatalf("the example printed %q", got)
		}
		for _, line := range got {
			i := strings.LastIndexByte(line, ' ')
			label, n := line[:i], line[i+1:]
			if crash[label] != n {
				t.Errorf("%s: %s, crash %q", label, n, crash[label])
			}
		}
	})
}

// TestLabExampleSearch runs ExampleKernel_Memory_search on both kernels'
// dumps, ELF and compressed, and checks its matches against crash 8.0.6's
// search -p of init_task's address on the same dump (the search group).
func TestLabExampleSearch(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		var want []string
		for _, line := range readLines(t, d.RefFile("crash-8.0.6-groups", "search/search-p-val.txt")) {
			if line = strings.TrimSpace(line); line != "" {
				want = append(want, line)
			}
		}
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Memory_search), "\n"), "\n")
		if len(want) == 0 || len(got) != len(want)+1 {
			t.Fatalf("the example printed %d lines, crash %d matches", len(got), len(want))
		}
		if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
			t.Errorf("matches differ from crash's (-crash +example):\n%s", diff)
		}
		var read, excluded int
		if _, err := fmt.Sscanf(got[len(got)-1], "%d pages searched, %d excluded from the dump", &read, &excluded); err != nil || read < 1000 {
			t.Errorf("last line %q", got[len(got)-1])
		}
		if strings.Contains(d.Name, "d31") != (excluded > 0) {
			t.Errorf("%s: %d pages excluded", d.Name, excluded)
		}
	})
}

// TestLabExampleVmalloc runs ExampleKernel_Memory_vmalloc on both kernels'
// dumps and checks the areas against crash 8.0.6's kmem -v and, on 6.1,
// the raw tree's nodes and places against crash's tree -p of
// vmap_area_root (6.12 has no vmap_area_root: crash fails on it too).
func TestLabExampleVmalloc(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		var areas []string
		for _, line := range readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-v.txt"))[1:] {
			// crash: VMAP_AREA VM_STRUCT START - END SIZE
			if f := strings.Fields(line); len(f) == 6 {
				areas = append(areas, fmt.Sprintf("%s-%s %s bytes (vm_struct %s)", f[2], f[4], f[5], f[1]))
			}
		}
		var places []string
		if d.Kernel == "6.1" {
			for _, line := range readLines(t, d.RefFile("crash-8.0.6-groups", "tree/tree-vmap-p.txt")) {
				if p, ok := strings.CutPrefix(strings.TrimSpace(line), "position: root"); ok {
					places = append(places, strings.ReplaceAll(p, "/", ""))
				}
			}
		}
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Memory_vmalloc), "\n"), "\n")
		if len(areas) < 50 || len(got) != len(areas)+len(places) {
			t.Fatalf("the example printed %d lines; crash %d areas and %d tree nodes", len(got), len(areas), len(places))
		}
		if diff := cmp.Diff(areas, got[:len(areas)]); diff != "" {
			t.Errorf("areas differ from crash's kmem -v (-crash +example):\n%s", diff)
		}
		for i, p := range places {
			if _, path, _ := strings.Cut(got[len(areas)+i], " at root/"); path != p {
				t.Errorf("tree node %d at %q, crash %q", i, path, p)
			}
		}
	})
}

// TestLabExampleSlab runs ExampleKernel_Memory_slab on both kernels' dumps
// and checks it against crash 8.0.6's kmem of the same address and kmem -S
// task_struct (lab group kmem).
func TestLabExampleSlab(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Memory_slab), "\n"), "\n")
		addr := readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-addr-task.txt"))
		// crash: the cache line, the slab line, then "  [object]".
		if len(addr) < 5 || len(got) < 2 {
			t.Fatalf("crash printed %d lines, the example %d", len(addr), len(got))
		}
		cache, slab := strings.Fields(addr[1]), strings.Fields(addr[3])
		object := strings.Trim(strings.TrimSpace(addr[5]), "[]")
		if !strings.Contains(got[0], " in "+cache[len(cache)-1]+" object "+object+" (free: false) of slab "+slab[0]) {
			t.Errorf("example %q; crash: %q %q %q", got[0], addr[1], addr[3], addr[5])
		}
		// kmem -S task_struct: the objects of the CPU slabs, in order.
		var want []string
		inCPU := false
		for _, line := range readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-S-task.txt")) {
			switch {
			case strings.HasPrefix(line, "CPU ") && strings.HasSuffix(line, " SLAB:"):
				inCPU = true
			case strings.HasPrefix(line, "CPU ") || strings.HasPrefix(line, "KMEM_CACHE_NODE"):
				inCPU = false
			case inCPU && (strings.HasPrefix(line, "  [") || strings.HasPrefix(line, "   ")):
				f := strings.Fields(line)
				want = append(want, fmt.Sprintf("%s %v", strings.Trim(f[0], "[]"), !strings.HasPrefix(line, "  [")))
			}
		}
		var have []string
		for _, line := range got[1:] {
			f := strings.Fields(line)
			have = append(have, f[len(f)-3]+" "+f[len(f)-1])
		}
		if strings.Join(have, "\n") != strings.Join(want, "\n") || len(want) == 0 {
			t.Errorf("CPU slab objects:\n%s\ncrash:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
		}
	})
}

// onExampleDumps runs f on each named lab dump in a subtest, with the
// examples pointed at it (exampleDump, exampleVmlinux).
func onExampleDumps(t *testing.T, names []string, f func(t *testing.T, d *lab.Dump)) {
	l := lab.Open(t)
	for _, name := range names {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			exampleDump, exampleVmlinux = d.Files[0], d.Vmlinux
			f(t, d)
		})
	}
}

// TestLabExampleIdentify runs ExampleKernel_Identify on both kernels'
// dumps and checks it against crash 8.0.6's kmem of init_task's address
// (lab group kmem, kmem-addr-data).
func TestLabExampleIdentify(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		var want []string
		ref := readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-addr-data.txt"))
		for i, line := range ref {
			f := strings.Fields(line)
			switch {
			case i == 0 && len(f) == 3:
				want = append(want, "symbol "+f[2]+"+0")
			case strings.HasPrefix(line, "    PID: "):
				want = append(want, fmt.Sprintf("task_struct of pid %s (%s)", f[1], strings.Trim(strings.Fields(ref[i+1])[1], `"`)))
			case strings.HasPrefix(line, "      PAGE ") && i+1 < len(ref):
				g := strings.Fields(ref[i+1])
				want = append(want, fmt.Sprintf("page %s phys %s flags [%s]", g[0], g[1], strings.Join(strings.Split(g[len(g)-1], ","), " ")))
			}
		}
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Identify), "\n"), "\n")
		if diff := cmp.Diff(want, got); diff != "" || len(want) != 3 {
			t.Errorf("the example differs from crash's kmem ADDRESS (-crash +example):\n%s", diff)
		}
	})
}

// TestLabExampleFreeAreas runs ExampleKernel_Memory_freeAreas on both
// kernels' dumps and checks the nodes against crash 8.0.6's kmem -n and
// each zone's free pages and blocks per order against its kmem -f.
func TestLabExampleFreeAreas(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		var want []string
		n := readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-n.txt"))
		for i, line := range n {
			if !strings.HasPrefix(line, "NODE ") || i+1 >= len(n) {
				continue
			}
			node := strings.Fields(n[i+1])
			for j := i + 2; j+1 < len(n); j++ {
				if strings.HasPrefix(n[j], "    MEM_MAP") {
					start, err := strconv.ParseUint(strings.Fields(n[j+1])[1], 16, 64)
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, fmt.Sprintf("node %s: %s pages from pfn %d", node[0], node[1], start/4096))
					break
				}
			}
		}
		// kmem -f: per zone, "ZONE NAME SIZE FREE ..." and one line per
		// order and migrate type: AREA SIZE STRUCT BLOCKS PAGES.
		zones := map[string]string{}
		var name string
		var blocks []uint64
		f := readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-f.txt"))
		flush := func() {
			if name != "" {
				s := zones[name]
				for _, b := range blocks {
					s += fmt.Sprintf(" %d", b)
				}
				zones[name] = s
			}
		}
		for i, line := range f {
			g := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "ZONE ") && i+1 < len(f):
				flush()
				z := strings.Fields(f[i+1])
				name, blocks = z[1], nil
				zones[name] = fmt.Sprintf("zone %s: %s free pages;", z[1], z[3])
			case len(g) == 5 && strings.HasSuffix(g[1], "k") && name != "":
				order, _ := strconv.Atoi(g[0])
				b, _ := strconv.ParseUint(g[3], 10, 64)
				for len(blocks) <= order {
					blocks = append(blocks, 0)
				}
				blocks[order] += b
			}
		}
		flush()
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Memory_freeAreas), "\n"), "\n")
		if len(want) == 0 || len(got) < len(want) {
			t.Fatalf("the example printed %d lines, crash's kmem -n %d nodes", len(got), len(want))
		}
		if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
			t.Errorf("nodes differ from crash's kmem -n (-crash +example):\n%s", diff)
		}
		compared := 0
		for _, line := range got[len(want):] {
			zone := strings.TrimSuffix(strings.Fields(line)[1], ":")
			if w, ok := zones[zone]; ok {
				compared++
				// crash lists no free areas for an empty zone: the
				// example's counts are then all 0.
				if empty := strings.HasSuffix(w, ";"); empty && (!strings.HasPrefix(line, w) || strings.Trim(line[len(w):], " 0") != "") || !empty && w != line {
					t.Errorf("example %q, crash %q", line, w)
				}
			}
		}
		if compared != len(zones) || compared == 0 {
			t.Errorf("%d zones compared, crash's kmem -f lists %d", compared, len(zones))
		}
	})
}

// TestLabExamplePages runs ExampleKernel_Memory_pages on both kernels'
// dumps and checks it against crash 8.0.6's kmem -p 1000000 and kmem -h.
func TestLabExamplePages(t *testing.T) {
	onExampleDumps(t, []string{"k61-elf", "k612-kdump-lzo-d31"}, func(t *testing.T, d *lab.Dump) {
		var want []string
		p := readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-p-phys.txt"))
		if f := strings.Fields(p[1]); len(p) > 1 && len(f) >= 6 {
			names := "[]"
			if len(f) > 6 {
				names = "[" + strings.ReplaceAll(f[6], ",", " ") + "]"
			}
			want = append(want, fmt.Sprintf("page %s phys %s mapping %s count %s flags %s %s", f[0], f[1], f[2], f[4], f[5], names))
		}
		for _, line := range readLines(t, d.RefFile("crash-8.0.6-groups", "kmem/kmem-h.txt"))[1:] {
			if f := strings.Fields(line); len(f) == 5 {
				want = append(want, fmt.Sprintf("%s at %s: %s of %s free", f[4], f[0], f[2], f[3]))
			}
		}
		got := strings.Split(strings.TrimSuffix(captureStdout(t, ExampleKernel_Memory_pages), "\n"), "\n")
		if diff := cmp.Diff(want, got); diff != "" || len(want) < 2 {
			t.Errorf("the example differs from crash's kmem -p and -h (-crash +example):\n%s", diff)
		}
	})
}

// crashFrame is a frame line of crash's bt: "#N [slot] function at pc".
var crashFrame = regexp.MustCompile(`^\s*#\d+ \[[0-9a-f]+\] (\S+) at [0-9a-f]+`)

// TestLabExampleKernelFromDump runs ExampleKernelFromDump on dumps of both
// kernels, ELF and compressed: the panic task and its frames must be
// crash's bt for the same dump (made with the vmlinux), and the module's
// type must be found.
func TestLabExampleKernelFromDump(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-kdump-zlib-d31", "k612-elf"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			exampleDump, exampleVmlinux = d.Files[0], d.Vmlinux
			lines := readLines(t, d.RefFile("crash-8.0.6", "bt.txt"))
			var want []string
			if len(lines) > 0 {
				var pid int
				var comm string
				fmt.Sscanf(lines[0], "PID: %d", &pid)
				if i := strings.Index(lines[0], `COMMAND: "`); i >= 0 {
					comm = strings.TrimSuffix(lines[0][i+len(`COMMAND: "`):], `"`)
				}
				want = append(want, fmt.Sprintf("PID %d %s", pid, comm))
			}
			for _, line := range lines {
				if m := crashFrame.FindStringSubmatch(line); m != nil {
					want = append(want, m[1])
				}
			}
			got := strings.Split(strings.TrimSpace(captureStdout(t, ExampleKernelFromDump)), "\n")
			if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "sizeof(struct virtio_blk) = ") || strings.HasSuffix(got[len(got)-1], "= 0") {
				t.Fatalf("the example found no struct virtio_blk:\n%s", strings.Join(got, "\n"))
			}
			got = got[:len(got)-1]
			for i := range got {
				// crash names GCC's clones without their suffix (.cold
				// parts keep theirs).
				for _, suffix := range []string{".isra.", ".part.", ".llvm."} {
					if j := strings.Index(got[i], suffix); j > 0 && i > 0 {
						got[i] = got[i][:j]
					}
				}
			}
			if len(want) < 5 {
				t.Fatalf("crash's bt has %d lines", len(want))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ExampleKernelFromDump (-crash bt +example):\n%s", diff)
			}
		})
	}
}
