package printk

import (
	"errors"
	"fmt"

	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Kind is one of the three log layouts.
type Kind int

const (
	// KindLockless is the lockless ring buffer of 5.10 and later.
	KindLockless Kind = iota + 1
	// KindStructured is the struct printk_log record buffer of 3.5 to 5.9.
	KindStructured
	// KindPlain is the plain character buffer of 3.4 and earlier.
	KindPlain
)

func (k Kind) String() string {
	switch k {
	case KindLockless:
		return "lockless ring buffer (5.10+)"
	case KindStructured:
		return "printk_log records (3.5-5.9)"
	case KindPlain:
		return "plain character buffer (<=3.4)"
	}
	return fmt.Sprintf("printk.Kind(%d)", int(k))
}

// Unknown marks an offset that the layout's source does not give.
const Unknown = -1

// Layout says where the kernel log is and how its structures are laid out.
// Addresses are kernel virtual addresses; offsets and sizes are bytes. Only
// the part for Kind is used.
type Layout struct {
	Kind   Kind
	Source string // where the layout came from, e.g. "VMCOREINFO"

	Lockless   LocklessLayout
	Structured StructuredLayout
	Plain      PlainLayout
}

// LocklessLayout describes the 5.10+ ring buffer (kernel/printk/
// printk_ringbuffer.h). All offsets are within the named struct.
type LocklessLayout struct {
	Prb uint64 // address of the pointer variable prb

	RingbufferSize int // struct printk_ringbuffer
	DescRing       int // printk_ringbuffer.desc_ring
	TextDataRing   int // printk_ringbuffer.text_data_ring

	DescRingCountBits int // prb_desc_ring.count_bits (unsigned int)
	DescRingDescs     int // prb_desc_ring.descs (pointer)
	DescRingInfos     int // prb_desc_ring.infos (pointer)
	DescRingHeadID    int // prb_desc_ring.head_id (atomic_long_t)
	DescRingTailID    int // prb_desc_ring.tail_id (atomic_long_t)

	DescSize        int // struct prb_desc
	DescStateVar    int // prb_desc.state_var (atomic_long_t)
	DescTextBlkLpos int // prb_desc.text_blk_lpos
	LposBegin       int // prb_data_blk_lpos.begin
	LposNext        int // prb_data_blk_lpos.next

	DataRingSizeBits int // prb_data_ring.size_bits (unsigned int)
	DataRingData     int // prb_data_ring.data (pointer)

	AtomicLongCounter int // atomic_long_t.counter

	InfoSize     int // struct printk_info
	InfoSeq      int // printk_info.seq (u64)
	InfoTsNsec   int // printk_info.ts_nsec (u64)
	InfoTextLen  int // printk_info.text_len (u16)
	InfoFacility int // printk_info.facility (u8), or Unknown
	InfoLevel    int // byte holding flags:5 (low bits) and level:3 (high bits), or Unknown
	InfoCallerID int // printk_info.caller_id (u32)
	InfoDevInfo  int // printk_info.dev_info, or Unknown

	DevSubsystem    int // dev_printk_info.subsystem, or Unknown
	DevSubsystemLen int // its length (LENGTH(printk_info_subsystem))
	DevDevice       int // dev_printk_info.device, or Unknown
	DevDeviceLen    int // its length (LENGTH(printk_info_device))
}

// StructuredLayout describes the 3.5-5.9 record buffer (struct printk_log,
// struct log before 3.11).
type StructuredLayout struct {
	LogBuf      uint64 // address of the pointer variable log_buf
	LogBufLen   uint64 // address of the u32 log_buf_len
	LogFirstIdx uint64 // address of the u32 log_first_idx
	LogNextIdx  uint64 // address of the u32 log_next_idx

	RecordSize int // sizeof(struct printk_log): where the text starts
	TsNsec     int // u64
	Len        int // u16 total record length; 0 marks the wrap
	TextLen    int // u16
	DictLen    int // u16, or Unknown
	Facility   int // u8, or Unknown
	Level      int // byte with flags:5 and level:3, or Unknown
	CallerID   int // u32 (CONFIG_PRINTK_CALLER, 5.1+), or Unknown
}

// PlainLayout describes the character buffer of 3.4 and earlier.
type PlainLayout struct {
	LogBuf      uint64 // address of the pointer variable log_buf
	LogBufLen   uint64 // address of the int log_buf_len
	LogEnd      uint64 // address of the unsigned log_end
	LoggedChars uint64 // address of the unsigned logged_chars
}

// ErrNoLog is wrapped by LayoutFromVMCOREINFO when VMCOREINFO names none of
// the three layouts.
var ErrNoLog = errors.New("no kernel log symbols")

// LayoutFromVMCOREINFO builds the layout from a dump's VMCOREINFO, choosing
// the layout as vmcore-dmesg does: prb, else log_first_idx, else the plain
// buffer. The error names the first key that is missing.
func LayoutFromVMCOREINFO(info *vmcoreinfo.Info) (*Layout, error) {
	if info == nil {
		return nil, fmt.Errorf("printk: no VMCOREINFO: %w", ErrNoLog)
	}
	g := &getter{info: info}
	l := &Layout{Source: "VMCOREINFO"}
	switch {
	case g.has("SYMBOL(prb)"):
		l.Kind = KindLockless
		k := &l.Lockless
		k.Prb = g.sym("prb")
		k.RingbufferSize = g.size("printk_ringbuffer")
		k.DescRing = g.off("printk_ringbuffer", "desc_ring")
		k.TextDataRing = g.off("printk_ringbuffer", "text_data_ring")
		k.DescRingCountBits = g.off("prb_desc_ring", "count_bits")
		k.DescRingDescs = g.off("prb_desc_ring", "descs")
		k.DescRingInfos = g.off("prb_desc_ring", "infos")
		k.DescRingHeadID = g.off("prb_desc_ring", "head_id")
		k.DescRingTailID = g.off("prb_desc_ring", "tail_id")
		k.DescSize = g.size("prb_desc")
		k.DescStateVar = g.off("prb_desc", "state_var")
		k.DescTextBlkLpos = g.off("prb_desc", "text_blk_lpos")
		k.LposBegin = g.off("prb_data_blk_lpos", "begin")
		k.LposNext = g.off("prb_data_blk_lpos", "next")
		k.DataRingSizeBits = g.off("prb_data_ring", "size_bits")
		k.DataRingData = g.off("prb_data_ring", "data")
		k.AtomicLongCounter = g.off("atomic_long_t", "counter")
		k.InfoSize = g.size("printk_info")
		k.InfoSeq = g.off("printk_info", "seq")
		k.InfoTsNsec = g.off("printk_info", "ts_nsec")
		k.InfoTextLen = g.off("printk_info", "text_len")
		k.InfoCallerID = g.off("printk_info", "caller_id")
		if g.err != nil {
			return nil, g.err
		}
		k.InfoDevInfo = g.optOff("printk_info", "dev_info")
		k.DevSubsystem = g.optOff("dev_printk_info", "subsystem")
		k.DevDevice = g.optOff("dev_printk_info", "device")
		k.DevSubsystemLen = g.optLen("printk_info_subsystem", 16)
		k.DevDeviceLen = g.optLen("printk_info_device", 48)
		k.InfoFacility, k.InfoLevel = deriveLocklessLevel(k.InfoTextLen, k.InfoCallerID)
	case g.has("SYMBOL(log_first_idx)"):
		l.Kind = KindStructured
		s := &l.Structured
		s.LogBuf = g.sym("log_buf")
		s.LogBufLen = g.sym("log_buf_len")
		s.LogFirstIdx = g.sym("log_first_idx")
		s.LogNextIdx = g.sym("log_next_idx")
		// 3.11 renamed struct log to struct printk_log.
		name := "printk_log"
		if !g.has("SIZE(printk_log)") && g.has("SIZE(log)") {
			name = "log"
		}
		s.RecordSize = g.size(name)
		s.TsNsec = g.off(name, "ts_nsec")
		s.Len = g.off(name, "len")
		s.TextLen = g.off(name, "text_len")
		if g.err != nil {
			return nil, g.err
		}
		s.DictLen = g.optOff(name, "dict_len")
		s.CallerID = g.optOff(name, "caller_id")
		s.Facility, s.Level = deriveStructuredLevel(s.TextLen, s.DictLen, s.RecordSize)
	case g.has("SYMBOL(log_buf)"):
		l.Kind = KindPlain
		p := &l.Plain
		p.LogBuf = g.sym("log_buf")
		p.LogBufLen = g.sym("log_buf_len")
		p.LogEnd = g.sym("log_end")
		p.LoggedChars = g.sym("logged_chars")
		if g.err != nil {
			return nil, g.err
		}
	default:
		return nil, fmt.Errorf("printk: VMCOREINFO has neither SYMBOL(prb), SYMBOL(log_first_idx) nor SYMBOL(log_buf): %w", ErrNoLog)
	}
	return l, nil
}

// deriveLocklessLevel finds the facility and level of struct printk_info,
// which VMCOREINFO does not export because they are bitfields. From 5.10
// (the first lockless kernel) to today the struct begins
//
//	u64 seq; u64 ts_nsec; u16 text_len; u8 facility; u8 flags:5; u8 level:3;
//	u32 caller_id; struct dev_printk_info dev_info;
//
// so facility is the byte after text_len and the flags/level byte the one
// after that, and caller_id follows immediately. The derivation is accepted
// only when the exported neighbours confirm it: caller_id must sit exactly
// 4 bytes after text_len, leaving room for just those two bytes. If a
// future kernel moves them, the levels become Unknown rather than wrong.
func deriveLocklessLevel(textLen, callerID int) (facility, level int) {
	if textLen < 0 || callerID != textLen+4 {
		return Unknown, Unknown
	}
	return textLen + 2, textLen + 3
}

// deriveStructuredLevel does the same for struct printk_log (struct log),
// which from 3.5 to 5.9 begins
//
//	u64 ts_nsec; u16 len; u16 text_len; u16 dict_len; u8 facility;
//	u8 flags:5; u8 level:3; [u32 caller_id]
//
// The two bytes follow dict_len; they are accepted when text_len and
// dict_len are adjacent u16s and the struct is long enough to hold them.
func deriveStructuredLevel(textLen, dictLen, size int) (facility, level int) {
	if textLen < 0 || dictLen != textLen+2 || size < dictLen+4 {
		return Unknown, Unknown
	}
	return dictLen + 2, dictLen + 3
}

// getter reads VMCOREINFO keys and remembers the first missing one.
type getter struct {
	info *vmcoreinfo.Info
	err  error
}

func (g *getter) has(key string) bool { _, ok := g.info.Get(key); return ok }

func (g *getter) missing(key string) {
	if g.err == nil {
		g.err = fmt.Errorf("printk: VMCOREINFO lacks %s", key)
	}
}

func (g *getter) sym(name string) uint64 {
	v, ok := g.info.Symbol(name)
	if !ok {
		g.missing("SYMBOL(" + name + ")")
	}
	return v
}

// maxStruct bounds sizes and offsets: no printk structure is near 64 KiB,
// so larger values are corrupt and would only invite huge allocations.
const maxStruct = 1 << 16

func (g *getter) size(name string) int {
	v, ok := g.info.Size(name)
	if !ok {
		g.missing("SIZE(" + name + ")")
		return 0
	}
	if v == 0 || v > maxStruct {
		if g.err == nil {
			g.err = fmt.Errorf("printk: VMCOREINFO SIZE(%s)=%d is out of range", name, v)
		}
		return 0
	}
	return int(v)
}

func (g *getter) off(typ, member string) int {
	v, ok := g.info.Offset(typ, member)
	if !ok {
		g.missing("OFFSET(" + typ + "." + member + ")")
		return 0
	}
	if v > maxStruct {
		if g.err == nil {
			g.err = fmt.Errorf("printk: VMCOREINFO OFFSET(%s.%s)=%d is out of range", typ, member, v)
		}
		return 0
	}
	return int(v)
}

func (g *getter) optOff(typ, member string) int {
	v, ok := g.info.Offset(typ, member)
	if !ok || v > maxStruct {
		return Unknown
	}
	return int(v)
}

func (g *getter) optLen(name string, def int) int {
	v, ok := g.info.Length(name)
	if !ok || v == 0 || v > 4096 {
		return def
	}
	return int(v)
}
