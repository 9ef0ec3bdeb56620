package value

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestMarshalJSON renders the tiny program's tasks as JSON: members in
// order, anonymous members inlined, bitfields, enums, char arrays, nested
// arrays and pointers as hexadecimal strings.
func TestMarshalJSON(t *testing.T) {
	c := setup(t)
	ck := newChecks(t)
	it := ck.V(c.Var("init_task"))
	st := ck.V(c.Var("second_task"))
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	for _, want := range []string{
		`"pid":0`, `"comm":"swapper/0"`, `"matrix":[[1,2,3],[4,5,6]]`, `"st":"SLEEPING"`,
		`"fl":{"a":1,"b":5,"c":2748,"d":-3`, `"raw":"0x1122334455667788"`, `"hi":287454020`, `"tail":7`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("init_task lacks %s:\n%s", want, b)
		}
	}
	got, err := st.MembersJSON([]string{"pid", "comm", "parent"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"pid":42,"comm":"kworker/0:1","parent":"%#x"}`, it.Addr); string(got) != want {
		t.Errorf("MembersJSON = %s, want %s", got, want)
	}
	if got, err := it.MembersJSON([]string{"fl.d", "st"}); err != nil || string(got) != `{"fl.d":-3,"st":"SLEEPING"}` {
		t.Errorf("bitfield and enum members = %s, %v", got, err)
	}
	if _, err := st.MembersJSON([]string{"nosuch"}); err == nil {
		t.Error("MembersJSON of a missing member: no error")
	}
	if _, err := json.Marshal(ck.V(c.At("struct task", 0x10))); err == nil {
		t.Error("a task at an unreadable address: no error")
	}
}
