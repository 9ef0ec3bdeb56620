package printk

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// vmem is kernel virtual memory for tests: 4 KiB pages at any address;
// untouched or dropped pages fail to read.
type vmem struct {
	pages map[uint64][]byte
}

func newVmem() *vmem { return &vmem{pages: map[uint64][]byte{}} }

func (m *vmem) write(addr uint64, b []byte) {
	for len(b) > 0 {
		base := addr &^ 4095
		p, ok := m.pages[base]
		if !ok {
			p = make([]byte, 4096)
			m.pages[base] = p
		}
		n := copy(p[addr-base:], b)
		b, addr = b[n:], addr+uint64(n)
	}
}

func (m *vmem) zero(addr uint64, n int) { m.write(addr, make([]byte, n)) }

func (m *vmem) put64(addr, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	m.write(addr, b[:])
}

func (m *vmem) put32(addr uint64, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	m.write(addr, b[:])
}

func (m *vmem) put16(addr uint64, v uint16) {
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], v)
	m.write(addr, b[:])
}

type unreadable struct{ addr uint64 }

func (e unreadable) Error() string { return fmt.Sprintf("page %#x not in test memory", e.addr) }

func (m *vmem) ReadAt(p []byte, off int64) (int, error) {
	addr := uint64(off)
	for n := 0; n < len(p); {
		a := addr + uint64(n)
		pg, ok := m.pages[a&^4095]
		if !ok {
			return n, unreadable{a}
		}
		n += copy(p[n:], pg[a&4095:])
	}
	return len(p), nil
}

func mustInfo(t testing.TB, text string) *vmcoreinfo.Info {
	t.Helper()
	info, err := vmcoreinfo.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Kernel addresses used by the fixtures.
const (
	symPrb      = 0xffffffff82a5c2a8 // the pointer variable prb
	addrRB      = 0xffffffff82a5d000 // printk_rb_static
	addrDescs   = 0xffffffff83000000
	addrInfos   = 0xffffffff83100000
	addrData    = 0xffffffff83200000
	symLogBuf   = 0xffffffff81e0a000
	symBufLen   = 0xffffffff81e0a008
	symFirstIdx = 0xffffffff81e0a010
	symNextIdx  = 0xffffffff81e0a018
	symLogEnd   = 0xffffffff81e0a020
	symLogged   = 0xffffffff81e0a028
	addrLogBuf  = 0xffff888003c00000
)

// vmcoreinfo61 is the printk part of an x86_64 6.1.0 VMCOREINFO as
// kernel/printk/printk.c log_buf_vmcoreinfo_setup prints it, with the
// struct layouts of that release: struct prb_desc_ring without
// last_finalized_seq (40 bytes), printk_info of 88 bytes.
var vmcoreinfo61 = fmt.Sprintf(`OSRELEASE=6.1.0-28-amd64
PAGESIZE=4096
SYMBOL(prb)=%x
SYMBOL(printk_rb_static)=%x
SYMBOL(clear_seq)=ffffffff82a5c280
SIZE(printk_ringbuffer)=80
OFFSET(printk_ringbuffer.desc_ring)=0
OFFSET(printk_ringbuffer.text_data_ring)=40
OFFSET(printk_ringbuffer.fail)=72
SIZE(prb_desc_ring)=40
OFFSET(prb_desc_ring.count_bits)=0
OFFSET(prb_desc_ring.descs)=8
OFFSET(prb_desc_ring.infos)=16
OFFSET(prb_desc_ring.head_id)=24
OFFSET(prb_desc_ring.tail_id)=32
SIZE(prb_desc)=24
OFFSET(prb_desc.state_var)=0
OFFSET(prb_desc.text_blk_lpos)=8
SIZE(prb_data_blk_lpos)=16
OFFSET(prb_data_blk_lpos.begin)=0
OFFSET(prb_data_blk_lpos.next)=8
SIZE(printk_info)=88
OFFSET(printk_info.seq)=0
OFFSET(printk_info.ts_nsec)=8
OFFSET(printk_info.text_len)=16
OFFSET(printk_info.caller_id)=20
OFFSET(printk_info.dev_info)=24
SIZE(dev_printk_info)=64
OFFSET(dev_printk_info.subsystem)=0
LENGTH(printk_info_subsystem)=16
OFFSET(dev_printk_info.device)=16
LENGTH(printk_info_device)=48
SIZE(prb_data_ring)=32
OFFSET(prb_data_ring.size_bits)=0
OFFSET(prb_data_ring.data)=8
OFFSET(prb_data_ring.head_lpos)=16
OFFSET(prb_data_ring.tail_lpos)=24
SIZE(atomic_long_t)=8
OFFSET(atomic_long_t.counter)=0
SIZE(latched_seq)=24
OFFSET(latched_seq.val)=8
`, uint64(symPrb), uint64(addrRB))

// vmcoreinfo612 differs from 6.1.0 where 6.12 differs: prb_desc_ring grew
// last_finalized_seq (6.7, and backported to later 6.1 stable releases, as
// testdata/vmcoreinfo-6.1.0-56-cloud-amd64.txt shows), moving
// text_data_ring and fail.
var vmcoreinfo612 = func() string {
	s := vmcoreinfo61
	for _, r := range [][2]string{
		{"OSRELEASE=6.1.0-28-amd64", "OSRELEASE=6.12.9-amd64"},
		{"SIZE(printk_ringbuffer)=80", "SIZE(printk_ringbuffer)=88"},
		{"OFFSET(printk_ringbuffer.text_data_ring)=40", "OFFSET(printk_ringbuffer.text_data_ring)=48"},
		{"OFFSET(printk_ringbuffer.fail)=72", "OFFSET(printk_ringbuffer.fail)=80"},
		{"SIZE(prb_desc_ring)=40", "SIZE(prb_desc_ring)=48"},
	} {
		s = replaceOnce(s, r[0], r[1])
	}
	return s
}()

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	panic("fixture: " + old + " not found")
}

// Lockless ring writer, following kernel/printk/printk_ringbuffer.c: data
// blocks are the descriptor id followed by the text, aligned to 8 bytes; a
// block that would cross the end of the ring is placed at its start, its
// begin position staying in the previous wrap; ids start near the top of
// the id space (DESC0_ID) so that they wrap.
type lrec struct {
	id, seq, ts uint64
	caller      uint32
	level, fac  uint8
	text        string
	subsys, dev string
	begin, next uint64
	state       uint64
}

type ringWriter struct {
	countBits, sizeBits uint
	recs                []lrec // live records, oldest first
	nextID, nextSeq     uint64
	headLpos, tailLpos  uint64
}

func newRingWriter(countBits, sizeBits uint) *ringWriter {
	count := uint64(1) << countBits
	// DESC0_ID(ct_bits) = DESC_ID(-(_DESCS_COUNT(ct_bits) + 1)).
	first := (-(count + 1)) & descIDMask
	return &ringWriter{countBits: countBits, sizeBits: sizeBits, nextID: first + 1}
}

const (
	emptyLineLpos = 0x3 // EMPTY_LINE_LPOS / NO_LPOS: data-less
)

func (w *ringWriter) add(r lrec) {
	count := uint64(1) << w.countBits
	size := uint64(1) << w.sizeBits
	r.id, r.seq = w.nextID&descIDMask, w.nextSeq
	w.nextID++
	w.nextSeq++
	if r.state == 0 {
		r.state = descFinalized
	}
	if r.text == "" {
		r.begin, r.next = emptyLineLpos, emptyLineLpos
	} else {
		blk := (8 + uint64(len(r.text)) + 7) &^ 7
		begin := w.headLpos
		next := begin + blk
		if begin/size != next/size { // DATA_WRAPS differs: place at start
			next = (next/size)*size + blk
		}
		for next-w.tailLpos > size { // make room: drop the oldest
			w.drop()
		}
		r.begin, r.next = begin, next
		w.headLpos = next
	}
	for len(w.recs) >= int(count) {
		w.drop()
	}
	w.recs = append(w.recs, r)
}

func (w *ringWriter) drop() {
	old := w.recs[0]
	w.recs = w.recs[1:]
	if old.next != emptyLineLpos {
		w.tailLpos = old.next
	}
}

// install writes the ring into mem at the fixture addresses, with the
// offsets of layout l.
func (w *ringWriter) install(m *vmem, l *LocklessLayout) {
	count := uint64(1) << w.countBits
	size := uint64(1) << w.sizeBits
	m.put64(symPrb, addrRB)
	m.zero(addrRB, l.RingbufferSize)
	dr := uint64(addrRB) + uint64(l.DescRing)
	m.put32(dr+uint64(l.DescRingCountBits), uint32(w.countBits))
	m.put64(dr+uint64(l.DescRingDescs), addrDescs)
	m.put64(dr+uint64(l.DescRingInfos), addrInfos)
	tr := uint64(addrRB) + uint64(l.TextDataRing)
	m.put32(tr+uint64(l.DataRingSizeBits), uint32(w.sizeBits))
	m.put64(tr+uint64(l.DataRingData), addrData)
	m.zero(addrDescs, int(count)*l.DescSize)
	m.zero(addrInfos, int(count)*l.InfoSize)
	m.zero(addrData, int(size))
	// Every slot starts as a reusable descriptor of an older generation.
	for i := uint64(0); i < count; i++ {
		m.put64(addrDescs+i*uint64(l.DescSize)+uint64(l.DescStateVar), 3<<62|((w.recs[0].id-count+i)&descIDMask))
	}
	for _, r := range w.recs {
		slot := r.id % count
		d := addrDescs + slot*uint64(l.DescSize)
		m.put64(d+uint64(l.DescStateVar), r.state<<62|r.id)
		m.put64(d+uint64(l.DescTextBlkLpos+l.LposBegin), r.begin)
		m.put64(d+uint64(l.DescTextBlkLpos+l.LposNext), r.next)
		in := addrInfos + slot*uint64(l.InfoSize)
		m.put64(in+uint64(l.InfoSeq), r.seq)
		m.put64(in+uint64(l.InfoTsNsec), r.ts)
		m.put16(in+uint64(l.InfoTextLen), uint16(len(r.text)))
		m.write(in+18, []byte{r.fac, r.level<<5 | 0x4}) // flags: LOG_CONT bit set, must not leak into the level
		m.put32(in+uint64(l.InfoCallerID), r.caller)
		m.write(in+uint64(l.InfoDevInfo+l.DevSubsystem), []byte(r.subsys))
		m.write(in+uint64(l.InfoDevInfo+l.DevDevice), []byte(r.dev))
		if r.text != "" {
			off := r.begin % size
			if r.begin/size != r.next/size {
				off = 0
			}
			m.put64(addrData+off, r.id)
			m.write(addrData+off+8, []byte(r.text))
		}
	}
	head, tail := w.recs[len(w.recs)-1].id, w.recs[0].id
	m.put64(dr+uint64(l.DescRingHeadID+l.AtomicLongCounter), head)
	m.put64(dr+uint64(l.DescRingTailID+l.AtomicLongCounter), tail)
}
