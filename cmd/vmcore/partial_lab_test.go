package main

import (
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/vmcore"
)

// TestLabPartialJSON: on a copy of a real dump whose task list is broken
// (kthreadd's tasks.next garbage), ps -json and bt -json -a say so in the
// stream itself, a vmcore.warning/1 record before the tasks, valid
// against its schema, as the text forms say it on stderr.
func TestLabPartialJSON(t *testing.T) {
	l := lab.Open(t)
	d := l.Dump("k61-elf-d31")
	if d == nil {
		t.Fatal("the lab has no k61-elf-d31")
	}
	k, err := vmcore.Load(d.Vmlinux, d.Files...)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := k.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	off, err := k.Syms.Offset("struct task_struct", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	phys, _, err := k.Virt.Translate(tb.ByPID(2)[0].Addr + uint64(off))
	k.Close()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(d.Files[0])
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
	in, err := os.Open(d.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(damaged)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	in.Close()
	var garbage [8]byte
	binary.LittleEndian.PutUint64(garbage[:], 0xdead000000000100)
	if _, err := out.WriteAt(garbage[:], fileOff); err != nil {
		t.Fatal(err)
	}
	out.Close()

	sch := schemas(t)
	for _, args := range [][]string{{"ps", "-json"}, {"bt", "-json", "-a"}} {
		o, errOut, rc := runJ(append(args, d.Vmlinux, damaged)...)
		if rc != 0 {
			t.Fatalf("vmcore %s: exit %d: %s", strings.Join(args, " "), rc, errOut)
		}
		recs := validRecords(t, sch, o)
		if len(recs) < 2 || recs[0]["schema"] != "vmcore.warning/1" || !strings.Contains(recs[0]["warning"].(string), "the task list is partial") {
			t.Errorf("vmcore %s: the stream does not start with the warning: %.300s", strings.Join(args, " "), o)
		}
		if !strings.Contains(errOut, "warning: ") {
			t.Errorf("vmcore %s: no warning on stderr", strings.Join(args, " "))
		}
	}
}
