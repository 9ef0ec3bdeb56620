package kmem

import (
	"math/bits"
	"strings"
	"testing"

	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
)

// TestCountFreelist walks a SLUB freelist whose pointers are hidden as
// CONFIG_SLAB_FREELIST_HARDENED hides them (ptr ^ random ^ swab(where)),
// stops at NULL, and reports a loop instead of walking it forever.
func TestCountFreelist(t *testing.T) {
	k := fk.New(1)
	m := New(memSpace{k: k}, k.C)
	const random, offset = 0x5a5a1234deadbeef, 16
	objs := []uint64{k.Alloc(64, 64), k.Alloc(64, 64), k.Alloc(64, 64)}
	link := func(from, to uint64) {
		at := from + offset
		k.Put64(at, to^random^bits.ReverseBytes64(at))
	}
	link(objs[0], objs[1])
	link(objs[1], objs[2])
	link(objs[2], 0)
	if n, err := m.countFreelist(objs[0], offset, random, true); err != nil || n != 3 {
		t.Errorf("hardened freelist: %d, %v", n, err)
	}
	// The same list without hardening reads its pointers as they are.
	for i, o := range objs {
		next := uint64(0)
		if i+1 < len(objs) {
			next = objs[i+1]
		}
		k.Put64(o+offset, next)
	}
	if n, err := m.countFreelist(objs[0], offset, 0, false); err != nil || n != 3 {
		t.Errorf("plain freelist: %d, %v", n, err)
	}
	// A loop: 3 -> 2.
	k.Put64(objs[2]+offset, objs[1])
	if n, err := m.countFreelist(objs[0], offset, 0, false); err == nil || !strings.Contains(err.Error(), "twice") || n != 3 {
		t.Errorf("loop: %d, %v", n, err)
	}
	// An unreadable object.
	k.Put64(objs[1]+offset, 0xffff888077770000)
	if _, err := m.countFreelist(objs[0], offset, 0, false); err == nil {
		t.Error("an unreadable object was counted")
	}
}
