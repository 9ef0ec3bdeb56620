package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

// TestLabVtopGroup compares vtop with crash 8.0.6 on the lab dumps: the
// page-table walk, the leaf's flags and the struct page line for kernel
// text, the direct map, stacks, a module, vmemmap and unmapped addresses.
func TestLabVtopGroup(t *testing.T) {
	compareCrashGroup(t, "vtop", []groupDiff{
		{Cmd: "vtop -u", Why: "user addresses need a task context and crash's VMA listing (vm_area_dump), not implemented: vtop -u reports that"},
	})
}

// TestLabVtopWithoutVMLinux runs the vtop group on the dumps alone. The
// walk comes from the page tables VMCOREINFO leads to, so it must equal
// crash's; the struct page line needs the vmlinux (vmemmap_base, struct
// page's layout and the kernel's pageflag_names), so it is left out and the
// reference is compared without it.
func TestLabVtopWithoutVMLinux(t *testing.T) {
	l := lab.Open(t)
	compared := 0
	for _, r := range l.Dumps {
		refs := crashRefs(filepath.Join(r.Ref, "crash-8.0.6-groups", "vtop"))
		if len(refs) == 0 {
			continue
		}
		t.Run(r.Name, func(t *testing.T) {
			d, err := vmcore.Open(r.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			s := NewSession(d, "", nil, nil)
			for _, ref := range refs {
				if strings.HasPrefix(ref.cmd, "vtop -u") {
					continue
				}
				want, err := os.ReadFile(ref.file)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				lp := &Loop{Session: s, Out: &out, Err: &out}
				lp.RunLine(ref.cmd)
				compared++
				if got, w := strings.TrimRight(out.String(), "\n"), strings.TrimRight(withoutPageLines(string(want)), "\n"); got != w {
					t.Errorf("%s without the vmlinux (-crash without its struct page lines +ours):\n%s", ref.cmd, cmp.Diff(w, got))
				}
			}
		})
	}
	if compared == 0 {
		t.Skip("the lab has no vtop group references")
	}
}

// withoutPageLines drops crash's struct page header and lines.
func withoutPageLines(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "      PAGE       PHYSICAL      MAPPING") || pageLine.MatchString(line) {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// pageLine matches crash's struct page line: PAGE PHYSICAL MAPPING INDEX
// CNT FLAGS.
var pageLine = regexp.MustCompile(`^[0-9a-f]{16} +[0-9a-f]+ +[0-9a-f]+ +[0-9a-f]+ +-?[0-9]+ [0-9a-f]+`)
