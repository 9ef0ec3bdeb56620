package vmcore_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/vmcore"
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

// TestLabBacktraceJSON: every task's backtrace on a lab dump, with frame
// words and lines, encodes as JSON and decodes back to the same frames;
// the panic task's ends with the user registers of its system call.
func TestLabBacktraceJSON(t *testing.T) {
	l := lab.Open(t)
	d := l.Dump("k61-kdump-zlib-d31")
	if d == nil {
		t.Skip("no k61-kdump-zlib-d31 in the lab")
	}
	k, err := vmcore.Load(d.Vmlinux, d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	tb, err := k.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	panicTask, err := k.PanicTask()
	if err != nil || panicTask == nil {
		t.Fatalf("panic task %v, %v", panicTask, err)
	}
	for _, tk := range tb.Tasks {
		bt, err := k.Backtrace(tk, tasks.TraceOptions{Words: true, Lines: true})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(bt); err != nil {
			t.Fatalf("pid %d: %v", tk.PID, err)
		}
		var back tasks.Backtrace
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("pid %d: %v\n%s", tk.PID, err, buf.Bytes())
		}
		if diff := cmp.Diff(bt.Frames, back.Frames, cmpopts.IgnoreFields(tasks.Exception{}, "Text")); diff != "" {
			t.Errorf("pid %d: frames after a JSON round trip (-want +got):\n%s", tk.PID, diff)
		}
		if back.PID != tk.PID || uint64(back.TaskAddr) != tk.Addr || back.Origin == "" {
			t.Errorf("pid %d: %+v", tk.PID, back)
		}
		if tk != panicTask {
			continue
		}
		if !strings.Contains(buf.String(), `"file":"debian/build/`) || bt.Frames[0].Words == nil {
			t.Errorf("panic task: no lines or words in %s", buf.Bytes())
		}
		u := bt.UserRegs()
		if cs, ok := u.Get("cs"); u == nil || !ok || cs != 0x33 {
			t.Errorf("panic task's user registers: %+v", u)
		}
	}
}
