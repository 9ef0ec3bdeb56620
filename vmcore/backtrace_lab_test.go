package vmcore_test

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabExampleBacktrace runs ExampleKernel_Backtrace on a 6.1 and a
// 6.12 lab dump and checks that its frames are crash 8.0.6's bt of the
// panic task, line for line.
func TestLabExampleBacktrace(t *testing.T) {
	l := lab.Open(t)
	frame := regexp.MustCompile(`^ ?#\d+ \[`)
	n := 0
	for _, name := range []string{"k61-kdump-zlib-d31", "k612-kdump-zstd-d31"} {
		d := l.Dump(name)
		if d == nil {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			ref, err := os.ReadFile(d.RefFile("crash-8.0.6", "bt.txt"))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(ref), "\n") {
				if frame.MatchString(line) {
					want = append(want, line)
				}
			}
			exampleDump, exampleVmlinux = d.Files[0], d.Vmlinux
			out := captureStdout(t, ExampleKernel_Backtrace)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			// crash: PID: 114      TASK: ffff8ad042520000  CPU: 1    COMMAND: "lab-panic"
			hdr := strings.Fields(strings.SplitN(string(ref), "\n", 2)[0])
			if len(hdr) != 8 {
				t.Fatalf("crash's header: %q", hdr)
			}
			if wantHdr := "PID: " + hdr[1] + "  COMMAND: " + hdr[7] + "  CPU: " + hdr[5]; lines[0] != wantHdr {
				t.Errorf("header %q, crash's task is %q", lines[0], wantHdr)
			}
			if len(want) < 5 {
				t.Fatalf("crash's bt has %d frames", len(want))
			}
			if diff := cmp.Diff(want, lines[1:]); diff != "" {
				t.Errorf("(-crash +example):\n%s", diff)
			}
		})
	}
	if n == 0 {
		t.Skip("neither dump is in the lab")
	}
}

// captureStdout returns what f writes to os.Stdout.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	os.Stdout = old
	return <-done
}
