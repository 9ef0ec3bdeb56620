package printk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func locklessLayout(t testing.TB, info string) *Layout {
	t.Helper()
	l, err := LayoutFromVMCOREINFO(mustInfo(t, info))
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != KindLockless {
		t.Fatalf("kind %v", l.Kind)
	}
	return l
}

func TestLayoutFromVMCOREINFOLockless(t *testing.T) {
	l := locklessLayout(t, vmcoreinfo61)
	k := l.Lockless
	if k.InfoFacility != 18 || k.InfoLevel != 19 {
		t.Errorf("derived facility/level offsets %d/%d, want 18/19", k.InfoFacility, k.InfoLevel)
	}
	if k.TextDataRing != 40 || k.RingbufferSize != 80 || k.DevDeviceLen != 48 {
		t.Errorf("layout %+v", k)
	}
	// A kernel that moved caller_id away from text_len: no level guess.
	moved := strings.Replace(vmcoreinfo61, "OFFSET(printk_info.caller_id)=20", "OFFSET(printk_info.caller_id)=24", 1)
	if k := locklessLayout(t, moved).Lockless; k.InfoLevel != Unknown || k.InfoFacility != Unknown {
		t.Errorf("level derived despite moved caller_id: %d", k.InfoLevel)
	}
	// Missing key is named.
	broken := strings.Replace(vmcoreinfo61, "OFFSET(prb_desc.text_blk_lpos)=8\n", "", 1)
	if _, err := LayoutFromVMCOREINFO(mustInfo(t, broken)); err == nil || !strings.Contains(err.Error(), "OFFSET(prb_desc.text_blk_lpos)") {
		t.Errorf("missing offset: %v", err)
	}
	if _, err := LayoutFromVMCOREINFO(mustInfo(t, "OSRELEASE=6.1\n")); !errors.Is(err, ErrNoLog) {
		t.Errorf("no log symbols: %v", err)
	}
}

// expected turns the writer's live records into what Read must return.
func expected(w *ringWriter) []Record {
	var want []Record
	for _, r := range w.recs {
		if r.state != descCommitted && r.state != descFinalized {
			continue
		}
		want = append(want, Record{
			Seq: r.seq, TsNsec: r.ts, Level: int(r.level), Facility: int(r.fac),
			CallerID: r.caller, HasCaller: true, Text: r.text, Subsystem: r.subsys, Device: r.dev,
			NoData: r.text == "",
		})
	}
	return want
}

func TestLocklessWrap(t *testing.T) {
	for _, ver := range []struct{ name, info string }{{"6.1", vmcoreinfo61}, {"6.12", vmcoreinfo612}} {
		t.Run(ver.name, func(t *testing.T) {
			l := locklessLayout(t, ver.info)
			// 16 descriptors, 512-byte text ring: 60 messages wrap both
			// rings several times, and the variable lengths make some data
			// blocks wrap to the start of the ring.
			w := newRingWriter(4, 9)
			for i := range 60 {
				r := lrec{ts: uint64(i)*1234567891 + 17, caller: uint32(i), level: uint8(i % 8), fac: uint8(i % 3)}
				switch {
				case i%11 == 5:
					r.text = "" // empty line: data-less
				case i%7 == 3:
					r.text = fmt.Sprintf("multi %d\n line two\x01", i)
					r.subsys, r.dev = "pci", "+pci:0000:00:1f.2"
				default:
					r.text = strings.Repeat(fmt.Sprintf("m%d ", i), 1+i%9)
				}
				if i%5 == 0 {
					r.caller = 0x80000000 | uint32(i%4)
				}
				w.add(r)
			}
			// The newest descriptor is still being written.
			w.add(lrec{text: "reserved, not yet committed"})
			w.recs[len(w.recs)-1].state = 0 // desc_reserved
			m := newVmem()
			w.install(m, &l.Lockless)

			got, warns, err := Read(m, l)
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 0 {
				t.Errorf("warnings: %v", warns)
			}
			want := expected(w)
			if len(want) < 10 {
				t.Fatalf("fixture too small: %d records", len(want))
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Record{}, "Err")); diff != "" {
				t.Errorf("records -want +got:\n%s", diff)
			}
			wrapped := false
			for _, r := range w.recs {
				if r.text != "" && r.begin/(1<<9) != r.next/(1<<9) {
					wrapped = true
				}
			}
			if !wrapped {
				t.Error("fixture has no wrapped data block")
			}
		})
	}
}

func TestLocklessMissingPage(t *testing.T) {
	l := locklessLayout(t, vmcoreinfo61)
	w := newRingWriter(8, 14) // 256 descriptors, 16 KiB of text: 4 pages
	for i := range 200 {
		w.add(lrec{ts: uint64(i) * 1e6, text: fmt.Sprintf("message number %d with some padding text", i)})
	}
	m := newVmem()
	w.install(m, &l.Lockless)
	delete(m.pages, uint64(addrData)+4096) // second page of the text ring
	got, _, err := Read(m, l)
	if err != nil {
		t.Fatal(err)
	}
	var missing, ok int
	for _, r := range got {
		if r.Missing {
			missing++
			if r.Err == nil || !strings.Contains(r.Err.Error(), "not in test memory") {
				t.Errorf("missing record without cause: %+v", r)
			}
			if r.TsNsec != r.Seq*1e6 {
				t.Errorf("missing record lost its timestamp: %+v", r)
			}
		} else {
			ok++
			if want := fmt.Sprintf("message number %d with some padding text", r.Seq); r.Text != want {
				t.Errorf("seq %d text %q", r.Seq, r.Text)
			}
		}
	}
	if missing == 0 || ok == 0 || missing+ok != len(w.recs) {
		t.Errorf("missing %d ok %d of %d", missing, ok, len(w.recs))
	}

	// A lost page of the descriptor array: one missing record stands for
	// the descriptors on it, and the records after it are all read.
	w.install(m, &l.Lockless)
	delete(m.pages, uint64(addrDescs)+4096)
	got, _, err = Read(m, l)
	if err != nil {
		t.Fatal(err)
	}
	missing, ok = 0, 0
	for _, r := range got {
		if r.Missing {
			missing++
		} else {
			ok++
		}
	}
	// Page 2 holds descriptors 171..341 of the 256 slots: those from slot
	// 171 on are lost.
	lost := 0
	for _, r := range w.recs {
		if s := r.id % 256; s*24+24 > 4096 && s*24 < 8192 {
			lost++
		}
	}
	if missing != 1 || ok != len(w.recs)-lost {
		t.Errorf("lost descriptor page: %d missing records, %d read, want 1 and %d", missing, ok, len(w.recs)-lost)
	}
}

func TestLocklessCorrupt(t *testing.T) {
	l := locklessLayout(t, vmcoreinfo61)
	build := func() (*ringWriter, *vmem) {
		w := newRingWriter(4, 10)
		for i := range 12 {
			w.add(lrec{ts: uint64(i), text: fmt.Sprintf("msg %d", i)})
		}
		m := newVmem()
		w.install(m, &l.Lockless)
		return w, m
	}
	dr := uint64(addrRB)

	t.Run("head-far-from-tail", func(t *testing.T) {
		w, m := build()
		m.put64(dr+32, (w.recs[0].id-1000)&descIDMask) // tail_id
		got, warns, err := Read(m, l)
		if err != nil || len(warns) == 0 || !strings.Contains(warns[0].Msg, "apart") {
			t.Fatalf("err %v warns %v", err, warns)
		}
		if len(got) != len(w.recs) {
			t.Errorf("got %d records, want %d", len(got), len(w.recs))
		}
	})
	t.Run("id-mismatch", func(t *testing.T) {
		w, m := build()
		slot := w.recs[3].id % 16
		m.put64(addrDescs+slot*24, descFinalized<<62|12345)
		got, warns, err := Read(m, l)
		if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Msg, "do not carry their id") {
			t.Fatalf("err %v warns %v", err, warns)
		}
		if len(got) != len(w.recs)-1 {
			t.Errorf("got %d records", len(got))
		}
	})
	t.Run("one-block", func(t *testing.T) {
		// Every descriptor pointing at record 0's block: the text repeats,
		// and the reader says so.
		w, m := build()
		b0 := addrDescs + (w.recs[0].id%16)*24
		var lpos [16]byte
		if _, err := m.ReadAt(lpos[:], int64(b0+8)); err != nil {
			t.Fatal(err)
		}
		begin, next := binary.LittleEndian.Uint64(lpos[:]), binary.LittleEndian.Uint64(lpos[8:])
		for _, r := range w.recs[1:] {
			m.put64(addrDescs+(r.id%16)*24+8, begin)
			m.put64(addrDescs+(r.id%16)*24+16, next)
		}
		_, warns, err := Read(m, l)
		if err != nil || len(warns) != 2 || !strings.Contains(warns[0].Msg, fmt.Sprintf("%d descriptors point at a text block another one uses", len(w.recs)-1)) {
			t.Fatalf("err %v warns %v", err, warns)
		}
	})
	t.Run("bad-lengths", func(t *testing.T) {
		w, m := build()
		slot := w.recs[2].id % 16
		m.put64(addrDescs+slot*24+8, 0x10)  // begin
		m.put64(addrDescs+slot*24+16, 0x14) // next: shorter than the id
		m.put16(addrInfos+(w.recs[4].id%16)*88+16, 60000)
		got, warns, err := Read(m, l)
		// The shortened block also begins where record 1's does: that
		// it shares a block, and does not start with its own id, is said.
		if err != nil || len(warns) != 3 || !strings.Contains(warns[0].Msg, "shorter than its id") ||
			!strings.Contains(warns[1].Msg, "point at a text block another one uses") || !strings.Contains(warns[2].Msg, "do not begin with their descriptor's id") {
			t.Fatalf("err %v warns %v", err, warns)
		}
		if !got[2].NoData {
			t.Errorf("record with broken block: %+v", got[2])
		}
		// text_len beyond the block is clamped to the block.
		if len(got[4].Text) > 16 || !strings.HasPrefix(got[4].Text, "msg 4") {
			t.Errorf("clamped text %q", got[4].Text)
		}
	})
	t.Run("count-bits", func(t *testing.T) {
		_, m := build()
		m.put32(dr, 63)
		if _, _, err := Read(m, l); err == nil || !strings.Contains(err.Error(), "count_bits") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("prb-unreadable", func(t *testing.T) {
		_, m := build()
		delete(m.pages, uint64(addrRB)&^4095)
		if _, _, err := Read(m, l); err == nil || !strings.Contains(err.Error(), "printk_ringbuffer") {
			t.Errorf("err %v", err)
		}
	})
}

// The VMCOREINFO of the lab's Debian 6.1.0-56 kernel (6.1.192): its
// prb_desc_ring has last_finalized_seq (backported to 6.1 stable), so the
// ring buffer is 88 bytes, not 6.1.0's 80. The level offset derived from it
// (19) gave output identical to crash `log -m` with the vmlinux on that
// dump, record for record.
func TestLayoutRealVMCOREINFO(t *testing.T) {
	raw, err := os.ReadFile("testdata/vmcoreinfo-6.1.0-56-cloud-amd64.txt")
	if err != nil {
		t.Fatal(err)
	}
	l := locklessLayout(t, string(raw))
	want := LocklessLayout{
		Prb: 0xffffffffad6622c0, RingbufferSize: 88, DescRing: 0, TextDataRing: 48,
		DescRingCountBits: 0, DescRingDescs: 8, DescRingInfos: 16, DescRingHeadID: 24, DescRingTailID: 32,
		DescSize: 24, DescStateVar: 0, DescTextBlkLpos: 8, LposBegin: 0, LposNext: 8,
		DataRingSizeBits: 0, DataRingData: 8, AtomicLongCounter: 0,
		InfoSize: 88, InfoSeq: 0, InfoTsNsec: 8, InfoTextLen: 16, InfoFacility: 18, InfoLevel: 19,
		InfoCallerID: 20, InfoDevInfo: 24, DevSubsystem: 0, DevSubsystemLen: 16, DevDevice: 16, DevDeviceLen: 48,
	}
	if diff := cmp.Diff(want, l.Lockless); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}
