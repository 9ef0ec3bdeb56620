package repl

// This file's name puts its tests after every other lab test of the
// package (go test runs them in file order): the support matrix is made of
// their verdicts.

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/vmcore"
)

var updateMatrix = flag.Bool("update-matrix", false, "rewrite the README's support matrix from this run's lab verdicts")

// verdicts holds what the lab tests of this package proved, by dump and
// view: each proved call adds the test's outcome and the truth it was
// compared with.
var verdicts = struct {
	sync.Mutex
	m     map[string]map[string]*verdict // dump -> view -> verdict
	tests map[string]bool                // the top-level tests that reported
}{m: map[string]map[string]*verdict{}, tests: map[string]bool{}}

type verdict struct {
	pass, fail int
	truths     map[string]bool
}

// proved records, when t ends, whether view of dump d held against truth
// (a reference tool's name: "crash-8.0.6", "drgn-0.3.0", "vmcore-dmesg").
// A skipped test records nothing.
func proved(t *testing.T, d *lab.Dump, view, truth string) {
	t.Helper()
	top, _, _ := strings.Cut(t.Name(), "/")
	t.Cleanup(func() {
		if t.Skipped() {
			return
		}
		verdicts.Lock()
		defer verdicts.Unlock()
		verdicts.tests[top] = true
		byView := verdicts.m[d.Name]
		if byView == nil {
			byView = map[string]*verdict{}
			verdicts.m[d.Name] = byView
		}
		v := byView[view]
		if v == nil {
			v = &verdict{truths: map[string]bool{}}
			byView[view] = v
		}
		if t.Failed() {
			v.fail++
		} else {
			v.pass++
		}
		v.truths[truth] = true
	})
}

// matrixViews are the matrix's columns, in order, with the tests whose
// verdicts fill them: the matrix is checked only when they all ran.
var matrixViews = []struct{ view, tests string }{
	{"dmesg", "TestLabSupportMatrix"},
	{"ps", "TestLabPsMatchesCrash TestLabViewsMatchDrgn"},
	{"bt", "TestLabBtMatchesCrash TestLabBtMatchesDrgn"},
	{"mod", "TestLabAgainstCrash TestLabViewsMatchDrgn"},
	{"runq", "TestLabAgainstCrash TestLabViewsMatchDrgn"},
	{"files", "TestLabForeachGroup TestLabViewsMatchDrgn"},
	{"vm", "TestLabForeachGroup TestLabViewsMatchDrgn"},
	{"vtop", "TestLabVtopGroup TestLabViewsMatchDrgn"},
	{"sys", "TestLabAgainstCrash TestLabViewsMatchDrgn"},
	{"log -T", "TestLabAgainstCrash TestLabLogTGuestClock"},
	{"kmem -i", "TestLabAgainstCrash TestLabViewsMatchDrgn"},
	{"kmem -s", "TestLabKmemGroup TestLabViewsMatchDrgn"},
	{"groups", "TestLabPsGroup"},
	{"no vmlinux", "TestLabGroupsFromBTF"},
}

// matrixViewOf is the matrix column a crash group command proves, "" for
// none of them.
func matrixViewOf(cmd string) string {
	f := strings.Fields(cmd)
	switch {
	case len(f) == 0:
		return ""
	case cmd == "kmem -s":
		return "kmem -s"
	case f[0] == "vtop" || f[0] == "files" || f[0] == "vm":
		return f[0]
	}
	return ""
}

// TestLabSupportMatrix checks `log` (the dump's kernel log in dmesg's
// layout) against vmcore-dmesg on every lab dump, then lays out what this
// run of the package's lab tests proved as the support matrix: for each
// kernel, one row per dump format, one column per view, each cell naming
// the reference the view matched on every dump of that kind (or how many
// failed). It must equal the README's, between its markers; -update-matrix
// rewrites the README. Run alone it only checks the logs: the matrix is
// the whole package's verdict.
func TestLabSupportMatrix(t *testing.T) {
	l := lab.Open(t)
	for _, d := range l.Dumps {
		// vmcore-dmesg reads ELF files only; a conversion holds the
		// memory of its ELF twin, whose log is the truth for it too.
		truth := "vmcore-dmesg"
		want, err := os.ReadFile(filepath.Join(d.Ref, "vmcore-dmesg.txt"))
		if err != nil && d.ELFTwin != "" {
			if twin := l.Dump(d.ELFTwin); twin != nil {
				want, err = os.ReadFile(filepath.Join(twin.Ref, "vmcore-dmesg.txt"))
				truth = "vmcore-dmesg (ELF twin)"
			}
		}
		if err != nil {
			continue
		}
		t.Run("dmesg/"+d.Name, func(t *testing.T) {
			dump, err := vmcore.Open(d.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer dump.Close()
			recs, _, err := dump.KernelLog()
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := (&printk.Formatter{}).Write(&got, recs); err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("the kernel log differs from vmcore-dmesg's (-vmcore-dmesg +ours):\n%s", cmp.Diff(string(want), got.String()))
			}
			proved(t, d, "dmesg", truth)
		})
	}

	verdicts.Lock()
	var missing []string
	for _, c := range matrixViews {
		for _, name := range strings.Fields(c.tests) {
			if name != "TestLabSupportMatrix" && !verdicts.tests[name] && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
	}
	verdicts.Unlock()
	if len(missing) > 0 {
		t.Skipf("the matrix is the verdict of the package's whole lab run; these tests did not report: %s", strings.Join(missing, ", "))
	}
	got := labIdentity(t, l) + supportMatrix(l)
	// Each run's matrix is kept beside the lab too.
	if err := os.WriteFile(filepath.Join(l.Dir, "support-matrix.md"), []byte(got), 0o644); err != nil {
		t.Log(err)
	}
	readme := filepath.Join("..", "README.md")
	text, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- support-matrix:begin -->\n", "<!-- support-matrix:end -->"
	i, j := bytes.Index(text, []byte(begin)), bytes.Index(text, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", strings.TrimSpace(begin), end)
	}
	old := string(text[i+len(begin) : j])
	if *updateMatrix {
		out := append(append(append([]byte{}, text[:i+len(begin)]...), got...), text[j:]...)
		if err := os.WriteFile(readme, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	diff := cmp.Diff(old, got)
	if diff == "" {
		return
	}
	if firstLine(old) != firstLine(got) {
		// Another lab (a fresh build captures other crashes, and may pick
		// a newer sid kernel): its verdicts can differ in what a
		// reference tool managed to read. The README's are this lab's
		// to prove; this run's matrix is in the lab directory.
		t.Logf("README.md's support matrix was made on another lab (%s; this one %s); this run's is %s:\n%s",
			strings.TrimSpace(firstLine(old)), strings.TrimSpace(firstLine(got)), filepath.Join(l.Dir, "support-matrix.md"), diff)
		return
	}
	t.Errorf("README.md's support matrix is not what this run proved (-README +run); rewrite it with\n"+
		"  VMCORE_LAB=%s go test ./repl -run TestLab -update-matrix\n%s", l.Dir, diff)
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// labIdentity is the matrix's first line: which lab proved it, as a hash
// of the lab's dumps (names, formats, sizes) and kernel releases, so that
// the README is checked strictly against the lab it was made on.
func labIdentity(t *testing.T, l *lab.Lab) string {
	h := sha256.New()
	for _, d := range l.Dumps {
		fmt.Fprintf(h, "%s %s %d %s\n", d.Name, d.Format, d.Bytes, d.Kernel)
	}
	rels := map[string]bool{}
	for _, d := range l.Dumps {
		rels[d.Kernel] = true
	}
	for _, k := range slices.Sorted(maps.Keys(rels)) {
		rel, _ := os.ReadFile(filepath.Join(l.Dir, "kernel", k, "release"))
		fmt.Fprintf(h, "%s %s\n", k, strings.TrimSpace(string(rel)))
	}
	return fmt.Sprintf("<!-- proven on the lab %x (%d dumps) -->\n", h.Sum(nil)[:8], len(l.Dumps))
}

// supportMatrix lays out the verdicts as Markdown tables, one per kernel.
func supportMatrix(l *lab.Lab) string {
	verdicts.Lock()
	defer verdicts.Unlock()
	kernels := map[string]bool{}
	for _, d := range l.Dumps {
		kernels[d.Kernel] = true
	}
	order := func(k string) string { // 5.10 6.1 6.12 sid
		if k == "sid" {
			return "~"
		}
		var a, b int
		fmt.Sscanf(k, "%d.%d", &a, &b)
		return fmt.Sprintf("%03d.%03d", a, b)
	}
	ks := make([]string, 0, len(kernels))
	for k := range kernels {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return order(ks[i]) < order(ks[j]) })

	var b strings.Builder
	for _, k := range ks {
		rel, _ := os.ReadFile(filepath.Join(l.Dir, "kernel", k, "release"))
		fmt.Fprintf(&b, "#### %s (%s)\n\n", k, strings.TrimSpace(string(rel)))
		b.WriteString("| format | dumps |")
		for _, c := range matrixViews {
			b.WriteString(" " + c.view + " |")
		}
		b.WriteString("\n|---|---|")
		for range matrixViews {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		formats := map[string][]*lab.Dump{}
		for _, d := range l.Dumps {
			if d.Kernel == k {
				formats[d.Format] = append(formats[d.Format], d)
			}
		}
		fs := make([]string, 0, len(formats))
		for f := range formats {
			fs = append(fs, f)
		}
		sort.Strings(fs)
		for _, f := range fs {
			ds := formats[f]
			fmt.Fprintf(&b, "| %s | %d |", f, len(ds))
			for _, c := range matrixViews {
				pass, fail, n := 0, 0, 0
				truths := map[string]bool{}
				for _, d := range ds {
					if v := verdicts.m[d.Name][c.view]; v != nil {
						n++
						pass += v.pass
						fail += v.fail
						for t := range v.truths {
							truths[t] = true
						}
					}
				}
				switch {
				case n == 0:
					b.WriteString(" · |")
				case fail > 0:
					fmt.Fprintf(&b, " ✗ %d of %d |", fail, pass+fail)
				default:
					ts := make([]string, 0, len(truths))
					for t := range truths {
						ts = append(ts, t)
					}
					sort.Strings(ts)
					cell := strings.Join(ts, ", ")
					if n < len(ds) {
						cell += fmt.Sprintf(" (%d of %d)", n, len(ds))
					}
					fmt.Fprintf(&b, " %s |", cell)
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}
