package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabPsBtOneShot runs `vmcore ps`, `vmcore ps -json`, `vmcore bt -A`
// and `vmcore bt -json` on a lab dump: the text equals crash's, the JSON
// holds the same tasks and the panic task's path to the crash.
func TestLabPsBtOneShot(t *testing.T) {
	l := lab.Open(t)
	d := l.Dump("k61-kdump-zlib-d31")
	if d == nil {
		t.Skip("no k61-kdump-zlib-d31 in the lab")
	}
	files := append([]string{d.Vmlinux}, d.Files...)
	one := func(args ...string) string {
		var out, errOut bytes.Buffer
		if rc := run(args, &out, &errOut); rc != 0 {
			t.Fatalf("vmcore %s: exit %d: %s", strings.Join(args, " "), rc, errOut.String())
		}
		return out.String()
	}
	for _, c := range []struct {
		args []string
		ref  string
	}{{[]string{"ps"}, "ps.txt"}, {[]string{"bt", "-A"}, "foreach-bt.txt"}, {[]string{"bt", "-a"}, "bt-a.txt"}} {
		want, err := os.ReadFile(d.RefFile("crash-8.0.6", c.ref))
		if err != nil {
			t.Fatal(err)
		}
		if got := one(append(append([]string{c.args[0]}, files...), c.args[1:]...)...); got != string(want) {
			t.Errorf("vmcore %s differs from crash's %s", strings.Join(c.args, " "), c.ref)
		}
	}
	var ps []psTask
	if err := json.Unmarshal([]byte(one(append([]string{"ps", "-json"}, files...)...)), &ps); err != nil {
		t.Fatal(err)
	}
	psText, _ := os.ReadFile(d.RefFile("crash-8.0.6", "ps.txt"))
	if want := strings.Count(string(psText), "\n") - 1; len(ps) != want {
		t.Errorf("ps -json: %d tasks, crash lists %d", len(ps), want)
	}
	var bts []btTask
	if err := json.Unmarshal([]byte(one(append(append([]string{"bt", "-json"}, files...), "lab-panic")...)), &bts); err != nil {
		t.Fatal(err)
	}
	if len(bts) != 1 || bts[0].Comm != "lab-panic" || bts[0].Error != "" {
		t.Fatalf("bt -json lab-panic: %+v", bts)
	}
	var names []string
	for _, f := range bts[0].Frames {
		names = append(names, f.Function)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "__crash_kexec panic sysrq_handle_crash") {
		t.Errorf("bt -json lab-panic frames: %s", got)
	}
	last := bts[0].Frames[len(bts[0].Frames)-1]
	if last.Regs["cs"] != "0x33" {
		t.Errorf("bt -json: the last frame's exception registers are not the user ones: %v", last.Regs)
	}
}
