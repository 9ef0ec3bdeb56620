package printk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Limits on sizes read from the dump, so a corrupt value cannot make Read
// allocate or walk without bound.
const (
	maxDescCountBits = 26      // 64 Mi descriptors: log_buf_len's 2 GiB limit / 32
	maxDataSizeBits  = 31      // 2 GiB text ring; log_buf_len is far smaller
	maxLogBufLen     = 1 << 31 // structured buffers (read record by record)
	maxPlainBufLen   = 1 << 28 // plain buffers, read whole; 3.4 kernels used <= 1 MiB
)

// Read walks the kernel log described by layout, reading kernel virtual
// memory through mem (offsets are addresses: int64(vaddr)). It returns the
// records in log order and warnings about damage it stepped over. The error
// is non-nil only when the log cannot be walked at all: a bad layout, or
// the log's top-level variables unreadable.
func Read(mem io.ReaderAt, layout *Layout) ([]Record, []Warning, error) {
	if layout == nil {
		return nil, nil, errors.New("printk: nil layout")
	}
	m := newPagedMem(mem)
	switch layout.Kind {
	case KindLockless:
		return readLockless(m, &layout.Lockless)
	case KindStructured:
		return readStructured(m, &layout.Structured)
	case KindPlain:
		return readPlain(m, &layout.Plain)
	}
	return nil, nil, fmt.Errorf("printk: unknown layout kind %d", int(layout.Kind))
}

// pagedMem reads kernel memory a page at a time and keeps the last few
// pages, so that the many small reads of a ring walk become few large ones,
// and so that one unreadable page costs only the records on it. A ring walk
// reads three sequential streams (descriptors, infos, text), so a handful
// of slots holds every page until its records are done; keeping all pages
// would touch fresh memory for each, which costs more than the reads on a
// short-lived process (a page fault per page).
type pagedMem struct {
	r    io.ReaderAt
	slab []byte // memSlots pages
	base [memSlots]uint64
	used [memSlots]uint64 // last use, 0: empty
	tick uint64
	bad  map[uint64]error
}

const (
	memPage  = 4096
	memSlots = 16
)

func newPagedMem(r io.ReaderAt) *pagedMem {
	return &pagedMem{r: r}
}

func (m *pagedMem) page(base uint64) ([]byte, error) {
	m.tick++
	victim := 0
	for i := range m.used {
		if m.used[i] != 0 && m.base[i] == base {
			m.used[i] = m.tick
			return m.slab[i*memPage : (i+1)*memPage], nil
		}
		if m.used[i] < m.used[victim] {
			victim = i
		}
	}
	if err, ok := m.bad[base]; ok {
		return nil, err
	}
	if m.slab == nil {
		m.slab = make([]byte, memSlots*memPage)
	}
	p := m.slab[victim*memPage : (victim+1)*memPage]
	m.used[victim] = 0
	if _, err := m.r.ReadAt(p, int64(base)); err != nil {
		if m.bad == nil {
			m.bad = map[uint64]error{}
		}
		m.bad[base] = err
		return nil, err
	}
	m.base[victim], m.used[victim] = base, m.tick
	return p, nil
}

// read fills p from kernel address addr. On failure the error names the
// address and wraps the reader's error.
func (m *pagedMem) read(p []byte, addr uint64) error {
	for n := 0; n < len(p); {
		a := addr + uint64(n)
		base := a &^ (memPage - 1)
		pg, err := m.page(base)
		if err != nil {
			return fmt.Errorf("reading %#x: %w", a, err)
		}
		n += copy(p[n:], pg[a-base:])
	}
	return nil
}

func (m *pagedMem) u64(addr uint64) (uint64, error) {
	var b [8]byte
	err := m.read(b[:], addr)
	return binary.LittleEndian.Uint64(b[:]), err
}

func (m *pagedMem) u32(addr uint64) (uint32, error) {
	var b [4]byte
	err := m.read(b[:], addr)
	return binary.LittleEndian.Uint32(b[:]), err
}

// field readers over a struct image; the layout's offsets were bounded when
// the layout was built, but a hand-made Layout may hold anything, so every
// access is checked.
type image []byte

func (b image) u8(off int) (uint8, bool) {
	if off < 0 || off >= len(b) {
		return 0, false
	}
	return b[off], true
}

func (b image) u16(off int) (uint16, bool) {
	if off < 0 || off+2 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b[off:]), true
}

func (b image) u32(off int) (uint32, bool) {
	if off < 0 || off+4 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[off:]), true
}

func (b image) u64(off int) (uint64, bool) {
	if off < 0 || off+8 > len(b) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[off:]), true
}

// cstr reads a NUL-terminated string of at most n bytes at off.
func (b image) cstr(off, n int) string {
	if off < 0 || n <= 0 || off >= len(b) {
		return ""
	}
	end := min(off+n, len(b))
	s := b[off:end]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// levelFields fills Level and Facility from a record header, given the
// offsets of the facility byte and of the flags:5/level:3 byte.
func levelFields(r *Record, hdr image, facOff, lvlOff int) {
	r.Level, r.Facility = Unknown, Unknown
	if v, ok := hdr.u8(lvlOff); ok {
		r.Level = int(v >> 5)
	}
	if v, ok := hdr.u8(facOff); ok {
		r.Facility = int(v)
	}
}

// Descriptor states of the lockless ring: the top two bits of state_var;
// the rest is the descriptor id.
const (
	descCommitted = 1
	descFinalized = 2
	descIDMask    = ^uint64(0) >> 2
)

func readLockless(m *pagedMem, l *LocklessLayout) ([]Record, []Warning, error) {
	var warns []Warning
	if l.RingbufferSize <= 0 || l.RingbufferSize > maxStruct || l.DescSize <= 0 || l.DescSize > maxStruct ||
		l.InfoSize <= 0 || l.InfoSize > maxStruct {
		return nil, nil, errors.New("printk: lockless layout has an invalid struct size")
	}
	prb, err := m.u64(l.Prb)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading the prb pointer: %w", err)
	}
	rb := make(image, l.RingbufferSize)
	if err := m.read(rb, prb); err != nil {
		return nil, nil, fmt.Errorf("printk: reading struct printk_ringbuffer at %#x: %w", prb, err)
	}
	field64 := func(off int, what string) (uint64, error) {
		v, ok := rb.u64(off)
		if !ok {
			return 0, fmt.Errorf("printk: %s at offset %d lies outside struct printk_ringbuffer (%d bytes)", what, off, len(rb))
		}
		return v, nil
	}
	field32 := func(off int, what string) (uint32, error) {
		v, ok := rb.u32(off)
		if !ok {
			return 0, fmt.Errorf("printk: %s at offset %d lies outside struct printk_ringbuffer (%d bytes)", what, off, len(rb))
		}
		return v, nil
	}
	countBits, err := field32(l.DescRing+l.DescRingCountBits, "desc_ring.count_bits")
	if err != nil {
		return nil, nil, err
	}
	descs, err := field64(l.DescRing+l.DescRingDescs, "desc_ring.descs")
	if err != nil {
		return nil, nil, err
	}
	infos, err := field64(l.DescRing+l.DescRingInfos, "desc_ring.infos")
	if err != nil {
		return nil, nil, err
	}
	headID, err := field64(l.DescRing+l.DescRingHeadID+l.AtomicLongCounter, "desc_ring.head_id")
	if err != nil {
		return nil, nil, err
	}
	tailID, err := field64(l.DescRing+l.DescRingTailID+l.AtomicLongCounter, "desc_ring.tail_id")
	if err != nil {
		return nil, nil, err
	}
	sizeBits, err := field32(l.TextDataRing+l.DataRingSizeBits, "text_data_ring.size_bits")
	if err != nil {
		return nil, nil, err
	}
	data, err := field64(l.TextDataRing+l.DataRingData, "text_data_ring.data")
	if err != nil {
		return nil, nil, err
	}
	if countBits > maxDescCountBits {
		return nil, nil, fmt.Errorf("printk: corrupt ring: descriptor count_bits %d exceeds %d", countBits, maxDescCountBits)
	}
	if sizeBits > maxDataSizeBits || sizeBits < 4 {
		return nil, nil, fmt.Errorf("printk: corrupt ring: text data size_bits %d out of range", sizeBits)
	}
	count := uint64(1) << countBits
	ringSize := uint64(1) << sizeBits

	// The kernel keeps head_id - tail_id below the descriptor count; more
	// means the ids are damaged. Walk at most one ring's worth, ending at
	// the head, so the walk always terminates.
	headID &= descIDMask
	tailID &= descIDMask
	span := (headID - tailID) & descIDMask
	if span >= count {
		warns = append(warns, Warning{Addr: prb, Msg: fmt.Sprintf("corrupt ring: head_id %#x and tail_id %#x are %d apart, more than the %d descriptors; reading the last %d", headID, tailID, span, count, count)})
		span = count - 1
		tailID = (headID - span) & descIDMask
	}

	// Room for the default ring (4096 descriptors); more grows by append.
	recs := make([]Record, 0, min(span+1, 4096))
	var textTotal uint64 // legitimate blocks do not overlap: at most the ring
	var unreadable int   // descriptors in the current run of unreadable ones
	var mismatched int
	var firstMismatch uint64
	blockOwner := map[uint64]uint64{} // text block begin -> the first descriptor id using it
	var shared, foreign int
	var firstShared, sharedWith, firstForeign uint64
	desc := make(image, l.DescSize)
	info := make(image, l.InfoSize)
	var textBuf []byte // reused; each record's Text is its own string
	for i := uint64(0); i <= span; i++ {
		id := (tailID + i) & descIDMask
		slot := id % count
		descAddr := descs + slot*uint64(l.DescSize)
		if err := m.read(desc, descAddr); err != nil {
			// One missing record per run of unreadable descriptors: a
			// lost page of the ring holds many, and a corrupt ring could
			// otherwise make millions.
			if unreadable == 0 {
				recs = append(recs, Record{Missing: true, Err: fmt.Errorf("descriptor %d and following: %w", id, err), Level: Unknown, Facility: Unknown})
			}
			unreadable++
			// Skip the other descriptors that start on the same page,
			// without passing the end of the array, where slots wrap.
			pageEnd := (descAddr &^ (memPage - 1)) + memPage
			skip := (pageEnd - descAddr) / uint64(l.DescSize)
			skip = min(skip, count-1-slot, span-i)
			i += skip
			continue
		}
		unreadable = 0
		sv, ok := desc.u64(l.DescStateVar + l.AtomicLongCounter)
		if !ok {
			return recs, warns, errors.New("printk: prb_desc.state_var lies outside struct prb_desc")
		}
		if sv&descIDMask != id {
			if mismatched == 0 {
				firstMismatch = id
			}
			mismatched++
			continue
		}
		if state := sv >> 62; state != descCommitted && state != descFinalized {
			continue // reserved (being written) or reusable: not a record
		}
		rec := Record{Level: Unknown, Facility: Unknown}
		if err := m.read(info, infos+slot*uint64(l.InfoSize)); err != nil {
			rec.Missing, rec.Err = true, fmt.Errorf("info of descriptor %d: %w", id, err)
			recs = append(recs, rec)
			continue
		}
		rec.Seq, _ = info.u64(l.InfoSeq)
		rec.TsNsec, _ = info.u64(l.InfoTsNsec)
		if c, ok := info.u32(l.InfoCallerID); ok {
			rec.CallerID, rec.HasCaller = c, true
		}
		levelFields(&rec, info, l.InfoFacility, l.InfoLevel)
		if l.InfoDevInfo >= 0 {
			if l.DevSubsystem >= 0 {
				rec.Subsystem = info.cstr(l.InfoDevInfo+l.DevSubsystem, l.DevSubsystemLen)
			}
			if l.DevDevice >= 0 {
				rec.Device = info.cstr(l.InfoDevInfo+l.DevDevice, l.DevDeviceLen)
			}
		}
		textLen, _ := info.u16(l.InfoTextLen)
		lb, ok1 := desc.u64(l.DescTextBlkLpos + l.LposBegin)
		ln, ok2 := desc.u64(l.DescTextBlkLpos + l.LposNext)
		if !ok1 || !ok2 {
			return recs, warns, errors.New("printk: prb_desc.text_blk_lpos lies outside struct prb_desc")
		}
		// As the kernel's get_data() and vmcore-dmesg: positions are
		// taken modulo the ring size; equal ones mean no data; a block
		// that would cross the end of the ring is stored at its start;
		// every block begins with the descriptor id (an unsigned long).
		begin, next := lb%ringSize, ln%ringSize
		if begin == next {
			rec.NoData = true
			recs = append(recs, rec)
			continue
		}
		if begin > next {
			begin = 0
		}
		// Several descriptors pointing at one block (a damaged ring)
		// would print its text again under each: count them, and those
		// whose block does not start with their own id.
		if first, dup := blockOwner[begin]; dup {
			if shared == 0 {
				firstShared, sharedWith = id, first
			}
			shared++
		} else {
			blockOwner[begin] = id
		}
		var blkID [8]byte
		if err := m.read(blkID[:], data+begin); err == nil && binary.LittleEndian.Uint64(blkID[:])&descIDMask != id {
			if foreign == 0 {
				firstForeign = id
			}
			foreign++
		}
		begin += 8
		if next < begin {
			warns = append(warns, Warning{Addr: descAddr, Msg: fmt.Sprintf("descriptor %d: text block [%#x, %#x) is shorter than its id", id, lb, ln)})
			rec.NoData = true
			recs = append(recs, rec)
			continue
		}
		n := uint64(textLen)
		if next-begin < n {
			n = next - begin // truncated message
		}
		if textTotal += n; textTotal > 2*ringSize {
			warns = append(warns, Warning{Addr: descAddr, Msg: "corrupt ring: the records' text adds up to more than the text ring holds; stopped"})
			break
		}
		if uint64(cap(textBuf)) < n {
			textBuf = make([]byte, n)
		}
		text := textBuf[:n]
		if err := m.read(text, data+begin); err != nil {
			rec.Missing, rec.Err = true, fmt.Errorf("text of record %d: %w", rec.Seq, err)
			recs = append(recs, rec)
			continue
		}
		rec.Text = string(text)
		recs = append(recs, rec)
	}
	if mismatched > 0 {
		warns = append(warns, Warning{Addr: descs, Msg: fmt.Sprintf("%d descriptors between tail and head do not carry their id (first: id %d); skipped", mismatched, firstMismatch)})
	}
	if shared > 0 {
		warns = append(warns, Warning{Addr: descs, Msg: fmt.Sprintf("corrupt ring: %d descriptors point at a text block another one uses (first: id %d, the block of id %d); their text is repeated", shared, firstShared, sharedWith)})
	}
	if foreign > 0 {
		warns = append(warns, Warning{Addr: data, Msg: fmt.Sprintf("corrupt ring: %d records' text blocks do not begin with their descriptor's id (first: id %d); their text may belong to other records", foreign, firstForeign)})
	}
	return recs, warns, nil
}

func readStructured(m *pagedMem, l *StructuredLayout) ([]Record, []Warning, error) {
	var warns []Warning
	if l.RecordSize <= 0 || l.RecordSize > maxStruct {
		return nil, nil, fmt.Errorf("printk: invalid printk_log size %d", l.RecordSize)
	}
	logBuf, err := m.u64(l.LogBuf)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading the log_buf pointer: %w", err)
	}
	bufLen, err := m.u32(l.LogBufLen)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading log_buf_len: %w", err)
	}
	first, err := m.u32(l.LogFirstIdx)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading log_first_idx: %w", err)
	}
	next, err := m.u32(l.LogNextIdx)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading log_next_idx: %w", err)
	}
	if bufLen == 0 || bufLen > maxLogBufLen {
		return nil, nil, fmt.Errorf("printk: corrupt log: log_buf_len %d out of range", bufLen)
	}
	if first >= bufLen || next >= bufLen {
		return nil, nil, fmt.Errorf("printk: corrupt log: log_first_idx %d or log_next_idx %d beyond log_buf_len %d", first, next, bufLen)
	}
	// Every record, the zero-length wrap marker included, is at least a
	// header long, so a walk of more steps than that has gone round.
	maxSteps := int(bufLen)/l.RecordSize + 2
	var recs []Record
	var total uint64 // bytes of records walked: a pass covers at most the buffer
	hdr := make(image, l.RecordSize)
	idx := first
	var seq uint64
	// A pass visits each record once: a chain that comes back to an
	// index it has visited (a corrupt length or log_buf_len, making it
	// go round the part of the buffer it can read) ends there, instead of
	// printing the same records again until the steps run out.
	visited := map[uint32]bool{}
	for steps := 0; idx != next; steps++ {
		if steps > maxSteps {
			warns = append(warns, Warning{Addr: logBuf + uint64(idx), Msg: "corrupt log: record chain does not reach log_next_idx; stopped"})
			break
		}
		if visited[idx] {
			warns = append(warns, Warning{Addr: logBuf + uint64(idx), Msg: fmt.Sprintf("corrupt log: the record chain comes back to index %d without reaching log_next_idx %d (log_buf_len %d); stopped", idx, next, bufLen)})
			break
		}
		visited[idx] = true
		addr := logBuf + uint64(idx)
		if uint64(idx)+uint64(l.RecordSize) > uint64(bufLen) {
			warns = append(warns, Warning{Addr: addr, Msg: fmt.Sprintf("corrupt log: record at index %d runs past log_buf_len %d; stopped", idx, bufLen)})
			break
		}
		if err := m.read(hdr, addr); err != nil {
			// Without the header the next record cannot be found.
			recs = append(recs, Record{Seq: seq, Missing: true, Err: err, Level: Unknown, Facility: Unknown})
			warns = append(warns, Warning{Addr: addr, Msg: "record header unreadable; the rest of the log cannot be followed"})
			break
		}
		length, _ := hdr.u16(l.Len)
		if length == 0 {
			// End-of-buffer marker: the record continues at the start.
			if idx == 0 {
				warns = append(warns, Warning{Addr: addr, Msg: "corrupt log: zero-length record at index 0; stopped"})
				break
			}
			recs = append(recs, wrapMarker(m, l, hdr, addr, bufLen-idx))
			idx = 0
			continue
		}
		if int(length) < l.RecordSize || uint64(idx)+uint64(length) > uint64(bufLen) {
			warns = append(warns, Warning{Addr: addr, Msg: fmt.Sprintf("corrupt log: record at index %d has length %d; stopped", idx, length)})
			break
		}
		if total += uint64(length); total > uint64(bufLen) {
			warns = append(warns, Warning{Addr: addr, Msg: "corrupt log: records add up to more than log_buf_len; stopped"})
			break
		}
		rec := Record{Seq: seq, Level: Unknown, Facility: Unknown}
		seq++
		rec.TsNsec, _ = hdr.u64(l.TsNsec)
		textLen, _ := hdr.u16(l.TextLen)
		var dictLen uint16
		if l.DictLen >= 0 {
			dictLen, _ = hdr.u16(l.DictLen)
		}
		levelFields(&rec, hdr, l.Facility, l.Level)
		if l.CallerID >= 0 {
			if c, ok := hdr.u32(l.CallerID); ok {
				rec.CallerID, rec.HasCaller = c, true
			}
		}
		room := int(length) - l.RecordSize
		if int(textLen)+int(dictLen) > room {
			warns = append(warns, Warning{Addr: addr, Msg: fmt.Sprintf("record %d: text %d and dictionary %d bytes exceed its length %d; truncated", rec.Seq, textLen, dictLen, length)})
			textLen = uint16(min(int(textLen), room))
			dictLen = uint16(room - int(textLen))
		}
		body := make([]byte, int(textLen)+int(dictLen))
		if err := m.read(body, addr+uint64(l.RecordSize)); err != nil {
			rec.Missing, rec.Err = true, err
		} else {
			rec.Text = string(body[:textLen])
			rec.Dict = string(body[textLen:])
			rec.Subsystem, rec.Device = dictDevice(rec.Dict)
		}
		recs = append(recs, rec)
		idx += uint32(length)
		if idx >= bufLen {
			// The kernel always leaves room for a wrap marker, so a
			// record ending exactly at the end means the next is at 0.
			idx = 0
		}
	}
	return recs, warns, nil
}

// wrapMarker records a zero-length wrap record as vmcore-dmesg sees it: it
// prints every header it meets, this one included, before following the
// wrap, so its timestamp (zero, as the kernel clears the header) and its
// text_len bytes of text (none) make one line of its output.
func wrapMarker(m *pagedMem, l *StructuredLayout, hdr image, addr uint64, room uint32) Record {
	r := Record{WrapMarker: true, Level: Unknown, Facility: Unknown}
	r.TsNsec, _ = hdr.u64(l.TsNsec)
	textLen, _ := hdr.u16(l.TextLen)
	n := min(int(textLen), max(int(room)-l.RecordSize, 0))
	text := make([]byte, n)
	if m.read(text, addr+uint64(l.RecordSize)) == nil {
		r.Text = string(text)
	}
	return r
}

// dictDevice picks SUBSYSTEM= and DEVICE= out of a record dictionary.
func dictDevice(dict string) (subsystem, device string) {
	for _, kv := range bytes.Split([]byte(dict), []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("SUBSYSTEM=")); ok {
			subsystem = string(v)
		} else if v, ok := bytes.CutPrefix(kv, []byte("DEVICE=")); ok {
			device = string(v)
		}
	}
	return subsystem, device
}

func readPlain(m *pagedMem, l *PlainLayout) ([]Record, []Warning, error) {
	var warns []Warning
	logBuf, err := m.u64(l.LogBuf)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading the log_buf pointer: %w", err)
	}
	bufLen32, err := m.u32(l.LogBufLen)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading log_buf_len: %w", err)
	}
	logEnd, err := m.u32(l.LogEnd)
	if err != nil {
		return nil, nil, fmt.Errorf("printk: reading log_end: %w", err)
	}
	bufLen := int32(bufLen32)
	if bufLen <= 0 || int64(bufLen) > maxPlainBufLen {
		return nil, nil, fmt.Errorf("printk: corrupt log: log_buf_len %d out of range", bufLen)
	}
	// As vmcore-dmesg and crash: the log is the last min(log_end,
	// log_buf_len) characters before log_end, which may wrap. Runs of
	// characters on pages the dump lacks become gaps: a missing record
	// each, never zero-filled memory.
	n := min(logEnd, uint32(bufLen))
	start := logEnd - n // logical index of the first character
	var segs [][]byte   // readable runs; nil marks a gap
	var cur []byte
	var missing int
	for i := uint32(0); i < n; {
		pos := (start + i) % uint32(bufLen)
		chunk := min(n-i, uint32(bufLen)-pos, memPage-uint32((logBuf+uint64(pos))%memPage))
		p, err := m.page((logBuf + uint64(pos)) &^ (memPage - 1))
		if err != nil {
			if cur != nil || len(segs) == 0 || segs[len(segs)-1] != nil {
				segs = append(segs, cur, nil)
				cur = nil
			}
			missing += int(chunk)
		} else {
			off := (logBuf + uint64(pos)) % memPage
			cur = append(cur, p[off:off+uint64(chunk)]...)
		}
		i += chunk
	}
	segs = append(segs, cur)
	if missing > 0 {
		warns = append(warns, Warning{Addr: logBuf, Msg: fmt.Sprintf("%d bytes of the log buffer are on pages the dump lacks; reported as missing records", missing)})
	}
	var recs []Record
	var seq uint64
	for si, seg := range segs {
		if seg == nil {
			if si%2 == 1 { // a gap (even indexes are runs, possibly empty)
				recs = append(recs, Record{Seq: seq, Plain: true, Missing: true, Level: Unknown, Facility: Unknown,
					Err: errors.New("log text on a page the dump lacks")})
				seq++
			}
			continue
		}
		afterGap, beforeGap := si > 0, si < len(segs)-1
		for first := true; len(seg) > 0; first = false {
			line := seg
			partial := true
			if i := bytes.IndexByte(seg, '\n'); i >= 0 {
				line, seg, partial = seg[:i], seg[i+1:], false
			} else {
				seg = nil
			}
			rec := Record{Seq: seq, Plain: true, Partial: partial, Level: Unknown, Facility: Unknown}
			seq++
			if (first && afterGap) || (partial && beforeGap) {
				rec.Missing, rec.Err = true, errors.New("line crosses a page the dump lacks")
			}
			rec.Prefix, line = splitLevelPrefix(line)
			if rec.Prefix != "" {
				v := 0
				for _, c := range rec.Prefix[1 : len(rec.Prefix)-1] {
					v = v*10 + int(c-'0')
				}
				rec.Level, rec.Facility = v&7, v>>3
			}
			rec.Text = string(line)
			rec.TsNsec = plainTimestamp(line)
			recs = append(recs, rec)
		}
	}
	return recs, warns, nil
}

// plainTimestamp parses the "[%5lu.%06lu] " stamp that CONFIG_PRINTK_TIME
// kernels up to 3.4 put at the start of a line's text, or returns 0.
func plainTimestamp(line []byte) uint64 {
	if len(line) < 10 || line[0] != '[' {
		return 0
	}
	i := 1
	for i < len(line) && line[i] == ' ' {
		i++
	}
	var sec, usec uint64
	digits := 0
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9' && digits < 12; i++ {
		sec = sec*10 + uint64(line[i]-'0')
		digits++
	}
	if digits == 0 || i >= len(line) || line[i] != '.' {
		return 0
	}
	i++
	digits = 0
	for ; i < len(line) && line[i] >= '0' && line[i] <= '9' && digits < 6; i++ {
		usec = usec*10 + uint64(line[i]-'0')
		digits++
	}
	if digits != 6 || i >= len(line) || line[i] != ']' {
		return 0
	}
	return sec*1e9 + usec*1e3
}

// splitLevelPrefix splits a "<N>" prefix (one to three digits) off a line.
func splitLevelPrefix(line []byte) (string, []byte) {
	if len(line) < 3 || line[0] != '<' {
		return "", line
	}
	for i := 1; i < len(line) && i <= 4; i++ {
		c := line[i]
		if c == '>' && i > 1 {
			return string(line[:i+1]), line[i+1:]
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return "", line
}
