package repl

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// TestLabPartialTaskListWarns damages a real dump's task list (the second
// task's tasks.next, in a copy of the file) and runs the commands that
// list tasks: they show the tasks before the break, and each says on
// stderr that the list is partial, as ps -json does.
func TestLabPartialTaskListWarns(t *testing.T) {
	l := lab.Open(t)
	d := l.Dump("k61-elf-d31")
	if d == nil {
		t.Fatal("the lab has no k61-elf-d31")
	}
	s, err := OpenSession(d.Vmlinux, d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := s.TaskTable()
	if err != nil {
		t.Fatal(err)
	}
	whole := len(tb.Tasks)
	off, err := s.Debug.Offset("struct task_struct", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := s.Translator()
	link := tb.ByPID(2)[0].Addr + uint64(off) // kthreadd's tasks.next
	phys, _, err := ks.Translate(link)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The file offset of that physical address in the ELF dump's copy.
	src := d.Files[0]
	ef, err := elf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	fileOff := int64(-1)
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && phys >= p.Paddr && phys+8 <= p.Paddr+p.Filesz {
			fileOff = int64(p.Off + phys - p.Paddr)
		}
	}
	ef.Close()
	if fileOff < 0 {
		t.Fatalf("physical %#x is in no segment", phys)
	}
	damaged := filepath.Join(t.TempDir(), "vmcore")
	copyFile(t, src, damaged)
	f, err := os.OpenFile(damaged, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var garbage [8]byte
	binary.LittleEndian.PutUint64(garbage[:], 0xdead000000000100)
	if _, err := f.WriteAt(garbage[:], fileOff); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s, err = OpenSession(d.Vmlinux, damaged)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, cmd := range []string{"ps", "foreach bt", "ps -G", "runq"} {
		var out, errOut bytes.Buffer
		lp := &Loop{Session: s, Out: &out, Err: &errOut}
		lp.RunLine(cmd)
		if !strings.Contains(errOut.String(), cmd[:strings.IndexByte(cmd+" ", ' ')]+": WARNING: the task list is partial: ") {
			t.Errorf("%s: no warning on stderr: %q", cmd, errOut.String())
		}
		if cmd == "ps" {
			if n := strings.Count(out.String(), "\n") - 1; n <= 0 || n >= whole {
				t.Errorf("ps of the damaged list shows %d tasks, the whole list has %d", n, whole)
			}
		}
	}
	// A command that does not read the task list says nothing of it.
	var out, errOut bytes.Buffer
	(&Loop{Session: s, Out: &out, Err: &errOut}).RunLine("sym jiffies")
	if errOut.Len() != 0 {
		t.Errorf("sym: %q", errOut.String())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
}
