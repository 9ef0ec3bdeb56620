package arch

import (
	"encoding/json"
	"testing"
)

func TestWordJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		A Word   `json:"a"`
		B []Word `json:"b"`
	}{0xffffffff81000000, []Word{0, 16}})
	if err != nil || string(b) != `{"a":"0xffffffff81000000","b":["0x0","0x10"]}` {
		t.Fatalf("%s, %v", b, err)
	}
	var back struct {
		A Word   `json:"a"`
		B []Word `json:"b"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.A != 0xffffffff81000000 || back.B[1] != 16 {
		t.Errorf("%+v, %v", back, err)
	}
	var w Word
	if err := w.UnmarshalText([]byte("42")); err != nil || w != 42 {
		t.Errorf("decimal: %d, %v", w, err)
	}
	if err := w.UnmarshalText([]byte("0xzz")); err == nil {
		t.Error("bad hex accepted")
	}
}

func TestRegsAndStacks(t *testing.T) {
	r := &Regs{Regs: []Reg{{Name: "pc", Value: 1}, {Name: "sp", Value: 2}}}
	if v, ok := r.Get("sp"); !ok || v != 2 {
		t.Errorf("Get(sp) = %d, %v", v, ok)
	}
	if _, ok := r.Get("x0"); ok {
		t.Error("Get of an absent register")
	}
	s := Stack{Name: "IRQ", Lo: 0x1000, Hi: 0x2000}
	if !s.Contains(0x1000) || s.Contains(0x2000) || s.Marker() != "--- <IRQ stack> ---" {
		t.Errorf("IRQ stack: %v %v %q", s.Contains(0x1000), s.Contains(0x2000), s.Marker())
	}
	if m := (Stack{Name: "NMI"}).Marker(); m != "--- <NMI exception stack> ---" {
		t.Errorf("NMI marker %q", m)
	}
	o := TraceOptions{Methods: []Method{MethodCFI}}
	if o.Uses(MethodORC) || !o.Uses(MethodCFI) || !(TraceOptions{}).Uses(MethodORC) {
		t.Error("TraceOptions.Uses")
	}
}
