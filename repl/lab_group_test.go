package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
)

// groupDiff is a known, explained difference from crash for one command of
// a group: Cmd is the command as recorded (placeholders already replaced by
// the recorder, so it is matched by prefix), Why says why our output should
// or does differ. Kernel, if set, limits it to one kernel series ("6.12").
// Like, if set, names (by prefix) another command of the group whose crash
// output is the truth for this one, where crash fails on this one but gets
// the other right: the output must then equal that one's. Strip, if set,
// is the start of lines of ours that crash does not print (a note this
// project adds): they are removed before the comparison, which must then
// hold. Replace, if set, is a pair (old, new): crash's output with every
// old replaced by new is the truth, for a word crash gets wrong.
// Dedupe: crash prints some matches twice; its output with repeated
// blocks (paragraphs, or lines when it has none) dropped is the truth.
//
// Norm, if set, rewrites both outputs before the comparison, which must
// then hold: for a layout the reference tool prints otherwise (gdb 16's
// disassembly) or a field it gets wrong (dropped on both sides). An entry
// whose Norm changes nothing on any command of the group is reported as
// stale. Fails, if set, is an error the reference tool prints instead of
// an answer: a command whose crash output holds it is skipped with Why;
// an entry that no command's output holds any more is reported as stale.
// A Cmd ending in "$" is a whole command, not a prefix.
type groupDiff struct {
	Cmd, Kernel, Why, Like, Strip string
	Replace                       []string
	Dedupe                        bool
	Norm                          func(cmd, crash, ours string) (string, string)
	Fails                         string
}

// applies tells whether the entry is for the command on the kernel.
func (k groupDiff) applies(cmd, kernel string) bool {
	if k.Kernel != "" && k.Kernel != kernel {
		return false
	}
	if whole, ok := strings.CutSuffix(k.Cmd, "$"); ok {
		return cmd == whole
	}
	return strings.HasPrefix(cmd, k.Cmd)
}

// compareCrashGroup runs, on every lab dump that has them, the commands of
// the crash command group recorded by testdata/lab/record_groups.sh
// (ref/<dump>/crash-8.0.6-groups/GROUP/) and compares each output with
// crash's byte for byte. A command listed in known is skipped with its
// reason when it differs (and reported when it no longer does, so stale
// entries get noticed). It returns the number of outputs compared.
func compareCrashGroup(t *testing.T, group string, known []groupDiff) int {
	t.Helper()
	return compareGroupRefs(t, "crash-8.0.6", group, known)
}

// compareGroupRefs is compareCrashGroup with the references of another
// crash release, tool ("crash-9.0.2"), recorded in ref/<dump>/TOOL-groups/
// (testdata/lab/sidgroups.sh records sid's crash for the newest kernel).
func compareGroupRefs(t *testing.T, tool, group string, known []groupDiff) int {
	t.Helper()
	l := lab.Open(t)
	compared, found := 0, 0
	matched, used := map[int]bool{}, map[int]bool{}
	defer func() {
		for i, k := range known {
			if matched[i] && !used[i] {
				t.Errorf("%s: the entry for %q (%s) no longer applies to any command: drop it", group, k.Cmd, k.Why)
			}
		}
	}()
	for _, r := range l.Dumps {
		dir := filepath.Join(r.Ref, tool+"-groups", group)
		refs := crashRefs(dir)
		if len(refs) == 0 {
			continue
		}
		found++
		t.Run(r.Name, func(t *testing.T) {
			proved(t, r, "groups", tool)
			s, done := labSession(t, r)
			defer done()
			for _, ref := range refs {
				want, err := os.ReadFile(ref.file)
				if err != nil {
					t.Errorf("%s: reference missing: %v", ref.cmd, err)
					continue
				}
				t.Run(ref.cmd, func(t *testing.T) {
					if v := matrixViewOf(ref.cmd); v != "" {
						proved(t, r, v, tool)
					}
					var out bytes.Buffer
					lp := &Loop{Session: s, Out: &out, Err: &out}
					lp.RunLine(ref.cmd)
					got := out.String()
					compared++
					for _, k := range known {
						if k.Strip != "" && k.applies(ref.cmd, r.Kernel) {
							got = stripLines(got, k.Strip)
						}
					}
					for _, k := range known {
						if k.Dedupe && k.applies(ref.cmd, r.Kernel) {
							want = []byte(dedupeBlocks(string(want)))
						}
					}
					for _, k := range known {
						if len(k.Replace) == 2 && k.applies(ref.cmd, r.Kernel) {
							fixed := strings.ReplaceAll(string(want), k.Replace[0], k.Replace[1])
							if fixed == string(want) {
								t.Errorf("%s: crash's output no longer has %q (%s): drop the entry", ref.cmd, k.Replace[0], k.Why)
							}
							want = []byte(fixed)
						}
					}
					for i, k := range known {
						if k.Norm == nil || !k.applies(ref.cmd, r.Kernel) {
							continue
						}
						w, g := k.Norm(ref.cmd, string(want), got)
						matched[i] = true
						if w != string(want) || g != got {
							used[i] = true
						}
						want, got = []byte(w), g
					}
					for i, k := range known {
						if k.Fails == "" || !k.applies(ref.cmd, r.Kernel) {
							continue
						}
						matched[i] = true
						if strings.Contains(string(want), k.Fails) {
							used[i] = true
							t.Skipf("%s fails: %s (%s)", tool, k.Fails, k.Why)
						}
					}
					// crash leaves some outputs without a final newline.
					same := strings.TrimRight(got, "\n") == strings.TrimRight(string(want), "\n")
					for _, k := range known {
						if !k.applies(ref.cmd, r.Kernel) {
							continue
						}
						if k.Strip != "" || len(k.Replace) == 2 || k.Dedupe || k.Norm != nil || k.Fails != "" {
							continue
						}
						if k.Like != "" {
							like := refLike(refs, k.Like)
							if like == nil {
								t.Fatalf("%s: no recorded command %q to compare with", ref.cmd, k.Like)
							}
							truth, err := os.ReadFile(like.file)
							if err != nil {
								t.Fatal(err)
							}
							if strings.TrimRight(got, "\n") != strings.TrimRight(string(truth), "\n") {
								t.Errorf("%s: differs from crash's %s (%s) (-crash +ours):\n%s", ref.cmd, like.cmd, k.Why, cmp.Diff(string(truth), got))
							}
							return
						}
						if same {
							t.Errorf("%s: listed as a known difference (%s) but now equals crash's output: drop the entry", ref.cmd, k.Why)
							return
						}
						t.Skipf("known difference: %s\n%s", k.Why, cmp.Diff(string(want), got))
					}
					if !same {
						t.Errorf("%s: differs from %s (-crash +ours):\n%s", ref.cmd, tool, cmp.Diff(string(want), got))
					}
				})
			}
		})
	}
	if found == 0 {
		t.Skipf("the lab has no %s references for group %q: run bash testdata/lab/record_groups.sh %s (sidgroups.sh for sid's crash)", tool, group, group)
	}
	return compared
}

// refLike is the recorded command that starts with prefix.
func refLike(refs []crashRef, prefix string) *crashRef {
	for i := range refs {
		if strings.HasPrefix(refs[i].cmd, prefix) {
			return &refs[i]
		}
	}
	return nil
}

// stripLines removes the lines that begin with prefix.
func stripLines(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(line, prefix) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// dedupeBlocks drops the repeated paragraphs of s (blocks ending in a
// blank line), or its repeated lines when it has no blank line.
func dedupeBlocks(s string) string {
	sep := "\n"
	if strings.Contains(s, "\n\n") {
		sep = "\n\n"
	}
	seen := map[string]bool{}
	var out []string
	for _, b := range strings.SplitAfter(s, sep) {
		if b == "" || seen[b] {
			continue
		}
		seen[b] = true
		out = append(out, b)
	}
	return strings.Join(out, "")
}
