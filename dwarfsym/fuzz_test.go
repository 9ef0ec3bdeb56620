package dwarfsym

import (
	"bytes"
	"os"
	"runtime/debug"
	"testing"
	"time"
)

// FuzzNewFile feeds arbitrary bytes to every parser of the package: ELF
// headers, notes, the symbol table, unit headers, abbreviations, the name
// scanner, debug/dwarf's type decoder and the line tables. None may panic,
// hang or allocate without bound.
func FuzzNewFile(f *testing.F) {
	tiny, err := os.ReadFile(tinyPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tiny)
	f.Add(tiny[:len(tiny)/2])
	f.Add(tiny[:64])
	f.Fuzz(func(t *testing.T, data []byte) {
		debug.SetTraceback("all")
		tm := time.AfterFunc(20*time.Second, func() { panic("FuzzNewFile: one input ran for 20 s") })
		defer tm.Stop()
		file, err := NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		defer file.Close()
		file.BuildID()
		file.Banner()
		file.SymbolAt(0xffffffff81000010)
		file.Lookup("init_task")
		if st, err := file.Type("struct task"); err == nil {
			FindMember(st, "tasks.next")
			WriteLayout(&bytes.Buffer{}, st, false)
		}
		file.Variable("init_task")
		file.Function("task_fn")
		file.Lines(0xffffffff81000004)
		file.IndexAll()
	})
}
