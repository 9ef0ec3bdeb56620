package repl

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

// btfDifference is an inherent difference between a command's output with
// the vmlinux and from the dump alone: Cmd matches the command by prefix,
// Why says why, and Holds checks that the difference is that one and no
// other.
type btfDifference struct {
	Cmd, Why string
	Holds    func(want, got string) bool
}

var (
	// sourceLine is what the vmlinux's line tables add after a code
	// symbol (sym, kmem ADDRESS) or a system call (sys -c).
	sourceLine = regexp.MustCompile(`(?m)[ \t]+[^ \t\n]+\.[chS]: [0-9]+$`)
	dollar     = regexp.MustCompile(`\$[0-9]+ =`)
)

// withoutSourceLines: got is want without the source positions (crash
// ends a text symbol's line with a space even where it has none).
func withoutSourceLines(want, got string) bool {
	trim := func(s string) string {
		lines := strings.Split(s, "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], " ")
		}
		return strings.Join(lines, "\n")
	}
	return trim(sourceLine.ReplaceAllString(want, "")) == trim(got)
}

// unknownType: the command says that the global's type is unknown.
func unknownType(_, got string) bool {
	return strings.Contains(got, "its type is unknown without the vmlinux") && strings.Count(got, "\n") == 1
}

// sectionSymbol: where crash names a word by an ELF section's symbol
// (.data), kallsyms names it by the symbol at that address; every other
// line is equal.
func sectionSymbol(want, got string) bool {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(w) != len(g) {
		return false
	}
	differ := 0
	for i := range w {
		if w[i] == g[i] {
			continue
		}
		differ++
		wf, gf := strings.Fields(w[i]), strings.Fields(g[i])
		if len(wf) != len(gf) {
			return false
		}
		for k := range wf {
			if wf[k] != gf[k] && !strings.HasPrefix(wf[k], ".") {
				return false
			}
		}
	}
	return differ > 0
}

// asmSymbolSize: the vmlinux sizes an assembly routine over its inner
// labels (entry_SYSCALL_64 over entry_SYSCALL_64_after_hwframe, the
// retpoline thunks as one array); kallsyms lists each label as a symbol
// and keeps no sizes, so the routine ends at the next label: got is a
// leading part of want.
func asmSymbolSize(want, got string) bool {
	return len(got) > 0 && len(got) < len(want) && strings.HasPrefix(want, got)
}

var btfDifferences = []btfDifference{
	{"sym ", "source lines come from the vmlinux's line tables, which the kernel's memory lacks", withoutSourceLines},
	{"kmem 0xffffffff", "the source line of a kernel text address comes from the vmlinux's line tables", withoutSourceLines},
	{"sys -c", "sys -c's FILE AND LINE NUMBER column comes from the vmlinux's line tables", withoutSourceLines},
	{"sys", "KERNEL: names the vmlinux, which the session does not have", func(want, got string) bool {
		drop := regexp.MustCompile(`(?m)^ +KERNEL: .*\n`)
		return strings.Contains(got, "KERNEL: (no vmlinux given)") && drop.ReplaceAllString(want, "") == drop.ReplaceAllString(got, "")
	}},
	{"p system_state", "BTF types only per-CPU variables; this global is not in kbtf.Globals", unknownType},
	{"p cpu_number:a", "5.10's BTF types no variables (pahole before 1.18), and cpu_number is not in kbtf.Globals", unknownType},
	{"p crash_kexec_post_notifiers", "BTF types only per-CPU variables; this global is not in kbtf.Globals", unknownType},
	{"p fair_sched_class", "BTF types only per-CPU variables; this global is not in kbtf.Globals", unknownType},
	{"whatis system_state", "BTF types only per-CPU variables; this global is not in kbtf.Globals", unknownType},
	{"rd -s ", "ELF section symbols (.data) are the vmlinux's; kallsyms has none", sectionSymbol},
	{"dis entry_SYSCALL_64", "an assembly routine's size spans its labels in the vmlinux only", asmSymbolSize},
	{"dis __x86_indirect_thunk_", "the retpoline thunks are one sized array in the vmlinux only", asmSymbolSize},
	{"dis __x86_return_thunk", "an assembly thunk's size (its int3 included) is in the vmlinux only", asmSymbolSize},
}

// TestLabGroupsFromBTF runs every command of every recorded crash group
// (the REPL's comparison groups: ps, bt, foreach, task, sys, struct, p,
// whatis, sym, dis, rd, kmem, list, tree, search, vtop, mod, runq, log,
// eval ...) on lab dumps of both kernels, ELF and compressed, once with
// the vmlinux and once from the dump alone (its BTF, kallsyms and ORC),
// and requires the outputs to be equal but for the inherent differences
// named in btfDifferences, each checked to be that difference.
func TestLabGroupsFromBTF(t *testing.T) {
	l := lab.Open(t)
	used := map[string]bool{}
	for _, name := range []string{"k61-elf", "k61-kdump-zlib-d31", "k612-elf", "k612-kdump-lzo-d31", "k510-elf", "k510-kdump-lzo-d31", "ksid-elf", "ksid-kdump-lzo-d31"} {
		d := l.Dump(name)
		if d == nil {
			if strings.HasPrefix(name, "k61") { // the other kernels: build.sh without --only-6.1
				t.Errorf("the lab has no %s", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			proved(t, d, "no vmlinux", "the same with the vmlinux")
			with, without, done := labSessionPair(t, d)
			defer done()
			groups, _ := filepath.Glob(filepath.Join(d.Ref, "crash-8.0.6-groups", "*"))
			sort.Strings(groups)
			refsOf := crashRefs
			if len(groups) == 0 {
				// No crash reads this kernel (sid's 7.x), so the lab
				// recorded no groups: run the groups' own command files,
				// with {px:EXPR} resolved by this session's p/x.
				groups, _ = filepath.Glob(filepath.Join("..", "testdata", "lab", "crash-groups", "*.cmds"))
				sort.Strings(groups)
				refsOf = func(g string) []crashRef { return groupCommands(t, with, g) }
			}
			compared, equal := 0, 0
			for _, g := range groups {
				for _, ref := range refsOf(g) {
					run := func(s *Session) string {
						var out bytes.Buffer
						lp := &Loop{Session: s, Out: &out, Err: &out}
						lp.RunLine(ref.cmd)
						// p numbers its results: one that fails without
						// the vmlinux shifts the rest.
						return dollar.ReplaceAllString(out.String(), "$$N =")
					}
					want, got := run(with), run(without)
					compared++
					if want == got {
						equal++
						continue
					}
					explained := false
					for _, k := range btfDifferences {
						if strings.HasPrefix(ref.cmd, k.Cmd) && k.Holds(want, got) {
							explained, used[k.Cmd] = true, true
							break
						}
					}
					if !explained {
						diff := cmp.Diff(want, got)
						if len(diff) > 2000 {
							diff = diff[:2000]
						}
						t.Errorf("%s: %s differs (-vmlinux +BTF):\n%s", filepath.Base(g), ref.cmd, diff)
					}
				}
			}
			t.Logf("%d commands, %d outputs equal, the rest differ only as named", compared, equal)
			if compared < 300 {
				t.Errorf("only %d commands compared: the groups are missing", compared)
			}
		})
	}
	for _, k := range btfDifferences {
		if !used[k.Cmd] {
			t.Errorf("the difference %q (%s) no longer occurs: drop it", k.Cmd, k.Why)
		}
	}
}

// TestLabFunctionEndFromKallsyms measures where dis ends a whole function
// without the vmlinux (the next kallsyms symbol, less the padding before
// it) against the vmlinux's symbol sizes, over every kernel function
// whose code is still in memory (not the freed init text).
func TestLabFunctionEndFromKallsyms(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k612-elf"} {
		d := l.Dump(name)
		if d == nil {
			t.Errorf("the lab has no %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			proved(t, d, "no vmlinux", "the same with the vmlinux")
			with, without, done := labSessionPair(t, d)
			defer done()
			syms, err := without.info().Symbols()
			if err != nil {
				t.Fatal(err)
			}
			initLo, _ := without.Symbols.LookupSymbol("_sinittext")
			initHi, _ := without.Symbols.LookupSymbol("_einittext")
			n, same := 0, 0
			for _, s := range syms {
				if s.Kind()|0x20 != 't' || s.Module != "" || s.Addr >= initLo && s.Addr < initHi {
					continue
				}
				n++
				if with.functionEnd(s.Addr) == without.functionEnd(s.Addr) {
					same++
				}
			}
			t.Logf("%d of %d functions end where the vmlinux ends them (%.2f%%)", same, n, 100*float64(same)/float64(n))
			if n < 10000 || float64(same) < 0.99*float64(n) {
				t.Errorf("%d of %d functions end alike: want 99%%", same, n)
			}
		})
	}
}

// labSessionPair opens a lab dump twice: a session with its vmlinux, and
// one without any (the dump's own BTF and kallsyms).
// pxPlaceholder is record_groups.sh's {px:EXPR}: the value p/x prints.
var pxPlaceholder = regexp.MustCompile(`\{px:[^}]*\}`)

// groupCommands reads a crash group's command file (FILE<TAB>COMMAND
// lines, '#' comments) as record_groups.sh does, each {px:EXPR} replaced by
// what p/x EXPR prints in s; a command whose value is not found is left out,
// as the recorder leaves it out.
func groupCommands(t *testing.T, s *Session, path string) []crashRef {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var refs []crashRef
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		_, cmd, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		missing := false
		cmd = pxPlaceholder.ReplaceAllStringFunc(cmd, func(e string) string {
			v, ok := pxValue(s, e[4:len(e)-1])
			if !ok {
				missing = true
				return e
			}
			return v
		})
		if !missing {
			refs = append(refs, crashRef{cmd: cmd})
		}
	}
	return refs
}

// pxValue is the hexadecimal value "p/x EXPR" prints in s ("0x..."), as
// record_groups.sh reads crash's; false when it prints none.
func pxValue(s *Session, expr string) (string, bool) {
	var out bytes.Buffer
	lp := &Loop{Session: s, Out: &out, Err: &out}
	lp.RunLine("p/x " + expr)
	_, v, ok := strings.Cut(strings.TrimSpace(out.String()), " = ")
	if !ok || !strings.HasPrefix(v, "0x") {
		return "", false
	}
	return strings.Fields(v)[0], true
}

func labSessionPair(t *testing.T, d *lab.Dump) (with, without *Session, done func()) {
	t.Helper()
	with, doneWith := labSession(t, d)
	dump, err := vmcore.Open(d.Files...)
	if err != nil {
		doneWith()
		t.Fatal(err)
	}
	return with, NewSession(dump, "", nil, nil), func() { dump.Close(); doneWith() }
}
