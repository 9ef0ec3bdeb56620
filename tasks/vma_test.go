package tasks

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/value"
)

// testMaple is the 6.1 layout of struct maple_node (256 bytes): mr64 and
// ma64 start after the parent pointer; range64 has 15 pivots and 16
// slots, arange64 9 pivots and 10 slots; dense nodes 31 slots.
var testMaple = &mapleLayout{nodeSize: 256,
	r64Pivot: 8, r64Slot: 8 + 15*8, r64Slots: 16,
	a64Pivot: 8, a64Slot: 8 + 9*8, a64Slots: 10,
	denseSlot: 8, denseSlots: 31}

func putNode(m pageMem, addr uint64, words map[int64]uint64) {
	pg := m[addr&^0xfff]
	if pg == nil {
		pg = make([]byte, 4096)
		m[addr&^0xfff] = pg
	}
	for off, v := range words {
		binary.LittleEndian.PutUint64(pg[addr&0xfff+uint64(off):], v)
	}
}

// enode encodes a node address with its type, as the kernel's
// mt_mk_node.
func enode(addr uint64, typ uint64) uint64 { return addr | typ<<mapleTypeShift | 4 }

func TestMapleWalk(t *testing.T) {
	m := pageMem{}
	const root, leafA, leafB = 0x10000, 0x10100, 0x10200
	// Root arange64: slot 0 covers 0..0x7fff (leaf A), slot 1 the rest
	// (leaf B); its third pivot 0 ends it.
	putNode(m, root, map[int64]uint64{
		testMaple.a64Pivot: 0x7fff, testMaple.a64Pivot + 8: ^uint64(0),
		testMaple.a64Slot: enode(leafA, mapleLeaf64), testMaple.a64Slot + 8: enode(leafB, mapleLeaf64),
	})
	// Leaf A: a gap (NULL) 0..0x3fff, VMA 1 0x4000..0x4fff, gap to 0x7fff.
	putNode(m, leafA, map[int64]uint64{
		testMaple.r64Pivot: 0x3fff, testMaple.r64Pivot + 8: 0x4fff, testMaple.r64Pivot + 16: 0x7fff,
		testMaple.r64Slot + 8: 0xffff888000001000,
	})
	// Leaf B: VMA 2 up to 0x8fff, VMA 3 up to 0x9fff, then empty.
	putNode(m, leafB, map[int64]uint64{
		testMaple.r64Pivot: 0x8fff, testMaple.r64Pivot + 8: 0x9fff,
		testMaple.r64Slot: 0xffff888000002000, testMaple.r64Slot + 8: 0xffff888000003000,
	})
	w := &mapleWalker{c: value.New(nil, m), l: testMaple}
	if err := w.node(enode(root, mapleArange64), 0, ^uint64(0), 0); err != nil {
		t.Fatal(err)
	}
	want := []uint64{0xffff888000001000, 0xffff888000002000, 0xffff888000003000}
	if diff := cmp.Diff(want, w.entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestMapleWalkCycle(t *testing.T) {
	m := pageMem{}
	// A range64 node whose every slot points back at itself.
	words := map[int64]uint64{}
	for i := int64(0); i < 15; i++ {
		words[testMaple.r64Pivot+8*i] = uint64(i+1) * 0x1000
	}
	self := enode(0x20000, mapleRange64)
	for i := int64(0); i < 16; i++ {
		words[testMaple.r64Slot+8*i] = self
	}
	putNode(m, 0x20000, words)
	w := &mapleWalker{c: value.New(nil, m), l: testMaple}
	if err := w.node(self, 0, ^uint64(0), 0); err == nil {
		t.Fatal("a self-referencing maple tree walked without error")
	}
}

// FuzzMapleWalk walks maple trees through arbitrary memory: every walk
// ends with entries or an error, never a panic or a hang.
func FuzzMapleWalk(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0x14, 0x00, 0x01, 0, 0, 0, 0, 0}, 4), uint8(2))
	f.Add(make([]byte, 16), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, typ uint8) {
		m := pageMem{}
		pg := make([]byte, 4096)
		for i := range pg {
			if len(data) > 0 {
				pg[i] = data[i%len(data)]
			}
		}
		m[0x10000] = pg
		w := &mapleWalker{c: value.New(nil, m), l: testMaple}
		_ = w.node(0x10000|uint64(typ&3)<<mapleTypeShift, 0, ^uint64(0), 0)
		if len(w.entries) > maxVMAs {
			t.Fatalf("%d entries, more than the bound", len(w.entries))
		}
	})
}
