package printk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// VMCOREINFO printk lines of the structured-record kernels, as
// kernel/printk.c (3.5-3.10, struct log) and kernel/printk/printk.c (3.11+,
// struct printk_log; caller_id with CONFIG_PRINTK_CALLER from 5.1) print
// them. On x86_64 the header is 16 bytes (u64 ts_nsec; u16 len, text_len,
// dict_len; u8 facility; u8 flags:5, level:3), 24 with the u32 caller_id
// at 16 (padded to the u64 alignment).
func structuredInfo(name string, caller bool) string {
	size := 16
	s := fmt.Sprintf("OSRELEASE=x\nSYMBOL(log_buf)=%x\nSYMBOL(log_buf_len)=%x\nSYMBOL(log_first_idx)=%x\nSYMBOL(clear_idx)=ffffffff81e0a030\nSYMBOL(log_next_idx)=%x\n",
		uint64(symLogBuf), uint64(symBufLen), uint64(symFirstIdx), uint64(symNextIdx))
	if caller {
		size = 24
	}
	s += fmt.Sprintf("SIZE(%s)=%d\nOFFSET(%[1]s.ts_nsec)=0\nOFFSET(%[1]s.len)=8\nOFFSET(%[1]s.text_len)=10\nOFFSET(%[1]s.dict_len)=12\n", name, size)
	if caller {
		s += fmt.Sprintf("OFFSET(%s.caller_id)=16\n", name)
	}
	return s
}

type srec struct {
	ts         uint64
	text, dict string
	level, fac uint8
	caller     uint32
	idx        uint32
}

// logWriter follows log_store() of 3.5-5.9: records aligned to LOG_ALIGN
// (4 on x86, which has efficient unaligned access), the oldest dropped
// until there is room for the record plus a wrap marker, and a zeroed
// header as the wrap marker when the record does not fit before the end.
type logWriter struct {
	bufLen, hdr uint32
	first, next uint32
	recs        []srec
	mem         []byte
	caller      bool
}

func newLogWriter(bufLen, hdr uint32, caller bool) *logWriter {
	return &logWriter{bufLen: bufLen, hdr: hdr, mem: make([]byte, bufLen), caller: caller}
}

func (w *logWriter) recLen(r srec) uint32 {
	size := w.hdr + uint32(len(r.text)) + uint32(len(r.dict))
	return (size + 3) &^ 3
}

func (w *logWriter) add(r srec) {
	size := w.recLen(r)
	for len(w.recs) > 0 {
		var free uint32
		if w.next > w.first {
			free = max(w.bufLen-w.next, w.first)
		} else {
			free = w.first - w.next
		}
		if free >= size+w.hdr {
			break
		}
		w.recs = w.recs[1:]
		if len(w.recs) > 0 {
			w.first = w.recs[0].idx
		} else {
			w.first = w.next
		}
	}
	if w.next+size+w.hdr > w.bufLen {
		clear(w.mem[w.next : w.next+w.hdr])
		w.next = 0
		if len(w.recs) == 0 {
			w.first = 0
		}
	}
	r.idx = w.next
	b := w.mem[r.idx : r.idx+size]
	clear(b)
	le64(b[0:], r.ts)
	le16(b[8:], uint16(size))
	le16(b[10:], uint16(len(r.text)))
	le16(b[12:], uint16(len(r.dict)))
	b[14] = r.fac
	b[15] = r.level<<5 | 0x3 // flags LOG_NEWLINE|LOG_PREFIX must not leak
	if w.caller {
		le32(b[16:], r.caller)
	}
	copy(b[w.hdr:], r.text)
	copy(b[w.hdr+uint32(len(r.text)):], r.dict)
	w.recs = append(w.recs, r)
	w.next += size
	if len(w.recs) == 1 {
		w.first = r.idx
	}
}

func le16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func le32(b []byte, v uint32) { le16(b, uint16(v)); le16(b[2:], uint16(v>>16)) }
func le64(b []byte, v uint64) { le32(b, uint32(v)); le32(b[4:], uint32(v>>32)) }

func (w *logWriter) install(m *vmem) {
	m.put64(symLogBuf, addrLogBuf)
	m.put32(symBufLen, w.bufLen)
	m.put32(symFirstIdx, w.first)
	m.put32(symNextIdx, w.next)
	m.write(addrLogBuf, w.mem)
}

func TestStructured(t *testing.T) {
	for _, v := range []struct {
		name, info string
		hdr        uint32
		caller     bool
	}{
		{"3.10-struct-log", structuredInfo("log", false), 16, false},
		{"4.19-printk_log", structuredInfo("printk_log", false), 16, false},
		{"5.4-caller", structuredInfo("printk_log", true), 24, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			l, err := LayoutFromVMCOREINFO(mustInfo(t, v.info))
			if err != nil {
				t.Fatal(err)
			}
			if l.Kind != KindStructured || l.Structured.Level != 15 || l.Structured.Facility != 14 {
				t.Fatalf("layout %+v", l.Structured)
			}
			w := newLogWriter(1024, v.hdr, v.caller)
			for i := range 50 {
				r := srec{ts: uint64(i) * 999999937, text: strings.Repeat(fmt.Sprintf("r%d ", i), 1+i%6),
					level: uint8(i % 8), fac: uint8(i % 4), caller: uint32(1000 + i)}
				if i%6 == 2 {
					r.dict = "SUBSYSTEM=usb\x00DEVICE=c189:1"
				}
				w.add(r)
			}
			m := newVmem()
			w.install(m)
			if w.next >= w.first {
				t.Fatalf("fixture did not wrap: first %d next %d", w.first, w.next)
			}
			all, warns, err := Read(m, l)
			if err != nil || len(warns) != 0 {
				t.Fatalf("err %v warns %v", err, warns)
			}
			// The wrap shows as one marker (which only StyleDmesg prints).
			var got []Record
			markers := 0
			for _, r := range all {
				if r.WrapMarker {
					markers++
					if r.TsNsec != 0 || r.Text != "" {
						t.Errorf("wrap marker %+v", r)
					}
					continue
				}
				got = append(got, r)
			}
			if markers != 1 {
				t.Errorf("%d wrap markers, want 1", markers)
			}
			var want []Record
			for i, r := range w.recs {
				rec := Record{Seq: uint64(i), TsNsec: r.ts, Text: r.text, Dict: r.dict, Level: int(r.level), Facility: int(r.fac)}
				if r.dict != "" {
					rec.Subsystem, rec.Device = "usb", "c189:1"
				}
				if v.caller {
					rec.CallerID, rec.HasCaller = r.caller, true
				}
				want = append(want, rec)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Record{}, "Err")); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestStructuredCorrupt(t *testing.T) {
	l, _ := LayoutFromVMCOREINFO(mustInfo(t, structuredInfo("printk_log", false)))
	build := func() (*logWriter, *vmem) {
		w := newLogWriter(4096, 16, false)
		for i := range 10 {
			w.add(srec{ts: uint64(i), text: fmt.Sprintf("line %d", i)})
		}
		m := newVmem()
		w.install(m)
		return w, m
	}
	t.Run("cycle", func(t *testing.T) {
		w, m := build()
		// log_next_idx off a record boundary: the chain passes it, meets
		// the zeroed end (a wrap marker) and goes round for ever.
		m.put32(symNextIdx, w.recs[9].idx+1)
		got, warns, err := Read(m, l)
		if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Msg, "stopped") {
			t.Fatalf("err %v warns %v", err, warns)
		}
		if len(got) > int(w.bufLen)/16+3 {
			t.Errorf("%d records from a 4 KiB buffer", len(got))
		}
	})
	t.Run("zero-length-loop", func(t *testing.T) {
		w, m := build()
		m.put16(addrLogBuf+uint64(w.recs[0].idx)+8, 0) // wrap marker at index 0
		_, warns, err := Read(m, l)
		if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Msg, "zero-length") {
			t.Fatalf("err %v warns %v", err, warns)
		}
	})
	t.Run("text-overflows-record", func(t *testing.T) {
		w, m := build()
		m.put16(addrLogBuf+uint64(w.recs[3].idx)+10, 5000)
		got, warns, err := Read(m, l)
		if err != nil || len(warns) != 1 || len(got) != 10 || got[4].Text != "line 4" {
			t.Fatalf("err %v warns %v got %d", err, warns, len(got))
		}
	})
	t.Run("missing-page", func(t *testing.T) {
		_, m := build()
		delete(m.pages, uint64(addrLogBuf))
		got, warns, err := Read(m, l)
		if err != nil || len(warns) != 1 || len(got) != 1 || !got[0].Missing {
			t.Fatalf("err %v warns %v got %+v", err, warns, got)
		}
	})
	t.Run("huge-log-buf-len", func(t *testing.T) {
		// log_buf_len of 16 MiB over a 4 KiB ring and log_next_idx past
		// the records: the chain wraps at the zeroed end and comes back
		// to the first record. Each record once, and a warning.
		_, m := build()
		m.put32(symBufLen, 16<<20)
		m.put32(symNextIdx, 8<<20)
		got, warns, err := Read(m, l)
		if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Msg, "comes back to index") {
			t.Fatalf("err %v warns %v", err, warns)
		}
		texts := map[string]int{}
		for _, r := range got {
			if texts[r.Text]++; r.Text != "" && texts[r.Text] > 1 {
				t.Fatalf("%q read %d times", r.Text, texts[r.Text])
			}
		}
		if len(got) > 12 {
			t.Errorf("%d records from 10", len(got))
		}
	})
	t.Run("bad-indexes", func(t *testing.T) {
		_, m := build()
		m.put32(symNextIdx, 1<<30)
		if _, _, err := Read(m, l); err == nil {
			t.Fatal("index beyond buffer accepted")
		}
	})
}

func plainInfo() string {
	return fmt.Sprintf("OSRELEASE=3.2.0\nSYMBOL(log_buf)=%x\nSYMBOL(log_buf_len)=%x\nSYMBOL(log_end)=%x\nSYMBOL(logged_chars)=%x\n",
		uint64(symLogBuf), uint64(symBufLen), uint64(symLogEnd), uint64(symLogged))
}

func TestPlain(t *testing.T) {
	l, err := LayoutFromVMCOREINFO(mustInfo(t, plainInfo()))
	if err != nil || l.Kind != KindPlain {
		t.Fatalf("%v %+v", err, l)
	}
	const bufLen = 8192
	var all strings.Builder
	for i := range 400 {
		fmt.Fprintf(&all, "<%d>[%5d.%06d] line %d of the old log\n", i%8, i, i*7, i)
	}
	all.WriteString("<4>partial") // no newline yet
	text := all.String()
	buf := make([]byte, bufLen)
	for i := 0; i < len(text); i++ { // emit_log_char
		buf[i%bufLen] = text[i]
	}
	m := newVmem()
	m.put64(symLogBuf, addrLogBuf)
	m.put32(symBufLen, bufLen)
	m.put32(symLogEnd, uint32(len(text)))
	m.put32(symLogged, bufLen)
	m.write(addrLogBuf, buf)
	got, warns, err := Read(m, l)
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v warns %v", err, warns)
	}
	var out strings.Builder
	if err := (&Formatter{}).Write(&out, got); err != nil {
		t.Fatal(err)
	}
	if want := text[len(text)-bufLen:]; out.String() != want {
		t.Errorf("vmcore-dmesg output differs:\n got %q...\nwant %q...", out.String()[:80], want[:80])
	}
	last := got[len(got)-1]
	if !last.Partial || last.Text != "partial" || last.Level != 4 {
		t.Errorf("last %+v", last)
	}
	mid := got[len(got)-2]
	if mid.Prefix != "<7>" || mid.Level != 7 || mid.Facility != 0 || !strings.HasSuffix(mid.Text, "line 399 of the old log") ||
		mid.TsNsec != 399*1e9+399*7*1e3 {
		t.Errorf("mid %+v", mid)
	}
	// A log that has not wrapped yet.
	m.put32(symLogEnd, 100)
	got, _, _ = Read(m, l)
	out.Reset()
	(&Formatter{}).Write(&out, got)
	if out.String() != string(buf[:100]) {
		t.Errorf("short log %q", out.String())
	}
	// A missing page of the buffer.
	m.put32(symLogEnd, uint32(len(text)))
	delete(m.pages, uint64(addrLogBuf)+4096)
	got, warns, err = Read(m, l)
	if err != nil || len(warns) != 1 {
		t.Fatalf("err %v warns %v", err, warns)
	}
	var missing int
	for _, r := range got {
		if r.Missing {
			missing++
		}
	}
	if missing == 0 || missing == len(got) {
		t.Errorf("%d of %d missing", missing, len(got))
	}
}
