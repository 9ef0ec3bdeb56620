package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

// TestLabVtopGroup compares vtop with crash 8.0.6 on the lab dumps: the
// page-table walk, the leaf's flags and the struct page line for kernel
// text, the direct map, stacks, a module, vmemmap and unmapped addresses;
// for user addresses of the panic task and of PID 1 (-c), the walk of the
// task's own tables, the mapping line, the file offset of a page not
// present, and addresses no mapping holds.
func TestLabVtopGroup(t *testing.T) {
	if n := compareCrashGroup(t, "vtop", nil); n > 0 && n < 30 {
		t.Errorf("only %d vtop outputs compared: the group should have more", n)
	}
}

// TestLabVtopWithoutVMLinux runs the vtop group on the dumps alone. The
// walk comes from the page tables VMCOREINFO leads to, so it must equal
// crash's; the struct page line and user addresses (a task's page tables)
// need the kernel's types (vmemmap_base, struct page's layout, the
// kernel's pageflag_names, the task list): its own BTF where the dump has
// it, and crash's output is the truth; without it the page lines are left
// out of the reference and the user addresses are not compared.
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
				if needsTask(ref.cmd) && !d.HasOwnTypes() {
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
				// The struct page lines need the kernel's types: its own
				// BTF where the dump has it.
				w := string(want)
				if !d.HasOwnTypes() {
					w = withoutPageLines(w)
				}
				if got, w := strings.TrimRight(out.String(), "\n"), strings.TrimRight(w, "\n"); got != w {
					t.Errorf("%s without the vmlinux (-crash, without its struct page lines if the dump has no BTF, +ours):\n%s", ref.cmd, cmp.Diff(w, got))
				}
			}
		})
	}
	if compared == 0 {
		t.Skip("the lab has no vtop group references")
	}
}

// labUserSpaceTop is the end of user space of the lab kernels (x86_64,
// 4-level paging).
const labUserSpaceTop = 0x0000800000000000

// needsTask reports whether a vtop command translates in a task's address
// space (-u, -c, or a user address), which needs the vmlinux.
func needsTask(cmd string) bool {
	for _, f := range strings.Fields(cmd)[1:] {
		if strings.HasPrefix(f, "-") {
			if strings.ContainsAny(f, "uc") {
				return true
			}
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimPrefix(f, "0x"), 16, 64); err == nil && v < labUserSpaceTop {
			return true
		}
	}
	return false
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
