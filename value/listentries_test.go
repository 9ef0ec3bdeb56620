package value

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/ktype"
)

// TestListEntriesCycle: a ring that loops back to an entry instead of its
// head ends at once with an error naming the addresses, not after max
// entries of the same two.
func TestListEntriesCycle(t *testing.T) {
	c := setup(t)
	it, err := c.Var("init_task")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Var("second_task")
	if err != nil {
		t.Fatal(err)
	}
	off, err := ktype.Offset(c.Types, "struct task", "tasks")
	if err != nil {
		t.Fatal(err)
	}
	head, second := it.Addr+uint64(off), st.Addr+uint64(off)
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, second) // second_task.tasks.next = itself
	c.Mem.(*fakeMem).patches[second] = b
	got, err := c.ListEntries(head, "struct task", "tasks", 1000)
	if len(got) != 1 || got[0].Addr != st.Addr {
		t.Errorf("entries before the loop: %+v", got)
	}
	if err == nil || !strings.Contains(err.Error(), "loops back") || !strings.Contains(err.Error(), "0x") {
		t.Errorf("error %v, want one naming the loop", err)
	}
}
