package tasks

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/value"
)

func TestStateString(t *testing.T) {
	for _, c := range []struct {
		state uint64
		want  string
	}{
		{0, "RU"},
		{taskInterruptible, "IN"},
		{taskUninterruptible, "UN"},
		{taskUninterruptible | taskNoLoad, "ID"},
		{exitZombie, "ZO"},
		{taskStopped, "ST"},
		{taskTraced, "TR"},
		{taskStopped | taskTraced, "TR"},
		{exitDead, "DE"},
		{taskDead, "DE"},
		{taskDead | exitZombie, "ZO"},
		{taskParked, "PA"},
		{taskWaking, "WA"},
		{taskNew, "NE"},
		{0x1000, "??"},
	} {
		if got := StateString(c.state); got != c.want {
			t.Errorf("StateString(%#x) = %s, want %s", c.state, got, c.want)
		}
	}
}

// mem is a sparse memory of 8-byte words.
type mem map[uint64]uint64

func (m mem) ReadAt(p []byte, off int64) (int, error) {
	for i := 0; i < len(p); i += 8 {
		v, ok := m[uint64(off)+uint64(i)]
		if !ok {
			return i, io.ErrUnexpectedEOF
		}
		binary.LittleEndian.PutUint64(p[i:], v)
	}
	return len(p), nil
}

func TestRingWalk(t *testing.T) {
	r := &reader{c: value.New(nil, nil), bo: binary.LittleEndian}
	// head -> a -> b -> head
	r.c.Mem = mem{0x1000: 0x2010, 0x2010: 0x3010, 0x3010: 0x1000}
	got, err := r.ring(0x1000, 0x10, "list")
	if err != nil || len(got) != 2 || got[0] != 0x2000 || got[1] != 0x3000 {
		t.Fatalf("ring = %x, %v; want [2000 3000]", got, err)
	}
	// A cycle that never returns to the head must end with an error.
	r.c.Mem = mem{0x1000: 0x2010, 0x2010: 0x3010, 0x3010: 0x2010}
	got, err = r.ring(0x1000, 0x10, "list")
	if err == nil || !strings.Contains(err.Error(), "broken") || len(got) != 2 {
		t.Fatalf("cyclic ring = %x, %v; want 2 entries and an error", got, err)
	}
	// NULL next and unreadable memory end the walk with an error too.
	r.c.Mem = mem{0x1000: 0x2010, 0x2010: 0}
	if _, err = r.ring(0x1000, 0x10, "list"); err == nil {
		t.Fatal("NULL next: no error")
	}
	r.c.Mem = mem{0x1000: 0x2010}
	if _, err = r.ring(0x1000, 0x10, "list"); err == nil {
		t.Fatal("unreadable node: no error")
	}
}

// FuzzRing walks list rings through arbitrary memory: every walk must end
// (bounded, cycles detected) without a panic.
func FuzzRing(f *testing.F) {
	f.Add([]byte{0x10, 0x20, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0}, uint16(0x10))
	f.Fuzz(func(t *testing.T, data []byte, off uint16) {
		m := mem{}
		for i := 0; i+8 <= len(data); i += 8 {
			m[0x1000+uint64(i)] = binary.LittleEndian.Uint64(data[i:])
		}
		r := &reader{c: value.New(nil, m), bo: binary.LittleEndian}
		got, _ := r.ring(0x1000, int64(off), "list")
		if len(got) > len(m) {
			t.Fatalf("%d entries from %d words of memory", len(got), len(m))
		}
	})
}
