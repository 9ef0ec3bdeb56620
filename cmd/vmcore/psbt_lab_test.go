package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabPsBtOneShot runs `vmcore ps`, `vmcore bt -A` and `vmcore bt -a` on
// a lab dump: the text equals crash's (their -json forms are
// json_lab_test.go's).
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
}
