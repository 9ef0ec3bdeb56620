package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/vmcore"
)

// TestDmesgLab runs `vmcore dmesg` on every lab dump and compares it with the
// reference tools' outputs for the same crash:
//   - kexec-tools vmcore-dmesg on the ELF dump (this dump's ELF twin):
//     byte for byte;
//   - makedumpfile --dump-dmesg on this dump: every record's timestamp and
//     text, ignoring its caller-id column and continuation indent;
//   - crash `log` on this dump: byte for byte against printk.StyleCrash;
//   - crash `log -T`: the texts; the wall-clock stamps may differ by a second
//     because crash takes the uptime from jiffies (logged, not failed).
func TestDmesgLab(t *testing.T) {
	l := lab.Open(t)
	for _, d := range l.Dumps {
		t.Run(d.Name, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"dmesg"}, d.Files...)...)
			if strings.HasPrefix(d.Format, "qemu") && code != 0 {
				// A QEMU dump without -device vmcoreinfo must say how to fix it.
				if !strings.Contains(errOut, "vmcoreinfo") {
					t.Errorf("exit %d without naming the fix: %s", code, errOut)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			twin := d
			if d.ELFTwin != "" {
				if tw := l.Dump(d.ELFTwin); tw != nil {
					twin = tw
				}
			}
			compared := 0
			if ref, err := os.ReadFile(twin.RefFile("", "vmcore-dmesg.txt")); err == nil && len(ref) > 0 {
				compared++
				if out != string(ref) {
					t.Errorf("differs from vmcore-dmesg on %s:\n%s", twin.Name, firstDiff(string(ref), out))
				}
			}
			if ref, err := os.ReadFile(d.RefFile("", "makedumpfile-dump-dmesg.txt")); err == nil && len(ref) > 0 {
				compared++
				if a, b := normalizeDmesg(string(ref)), normalizeDmesg(out); a != b {
					t.Errorf("timestamps or texts differ from makedumpfile --dump-dmesg:\n%s", firstDiff(a, b))
				}
			}
			crashLog, err1 := os.ReadFile(d.RefFile("crash-8.0.6", "log.txt"))
			crashLogT, err2 := os.ReadFile(d.RefFile("crash-8.0.6", "log-T.txt"))
			if err1 == nil && len(crashLog) > 0 || err2 == nil && len(crashLogT) > 0 {
				dump, err := vmcore.Open(d.Files...)
				if err != nil {
					t.Fatal(err)
				}
				recs, _, err := dumpLog(dump)
				if err != nil {
					t.Fatal(err)
				}
				if len(crashLog) > 0 {
					compared++
					var b bytes.Buffer
					(&printk.Formatter{Style: printk.StyleCrash}).Write(&b, recs)
					if b.String() != string(crashLog) {
						t.Errorf("StyleCrash differs from crash log:\n%s", firstDiff(string(crashLog), b.String()))
					}
				}
				if len(crashLogT) > 0 {
					compared++
					var b bytes.Buffer
					(&printk.Formatter{Style: printk.StyleCrash, CTime: true, BootTime: bootTime(dump, recs)}).Write(&b, recs)
					if b.String() != string(crashLogT) {
						stamp := regexp.MustCompile(`(?m)^\[[^]]*\] `)
						if a, c := stamp.ReplaceAllString(string(crashLogT), ""), stamp.ReplaceAllString(b.String(), ""); a != c {
							t.Errorf("texts differ from crash log -T:\n%s", firstDiff(a, c))
						} else {
							t.Logf("crash log -T: same texts, wall-clock stamps differ (boot time from jiffies): %s", firstDiff(string(crashLogT), b.String()))
						}
					}
				}
				dump.Close()
			}
			if compared == 0 {
				t.Skipf("no reference outputs recorded for %s yet", d.Name)
			}
		})
	}
}

// normalizeDmesg drops what makedumpfile adds to vmcore-dmesg's layout: the
// "[ T123] " caller column after the timestamp and the indentation of
// continuation lines.
func normalizeDmesg(s string) string {
	caller := regexp.MustCompile(`(?m)^(\[ *[0-9]+\.[0-9]{6}\] )\[ *[TC][0-9]+\] `)
	s = caller.ReplaceAllString(s, "$1")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, " ")
	}
	return strings.Join(lines, "\n")
}

// firstDiff shows the first differing line of want and got.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n want " + quoteLine(a) + "\n  got " + quoteLine(b)
		}
	}
	return "(same lines)"
}

func quoteLine(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
