package printk

import "fmt"

// Record is one kernel log record.
type Record struct {
	// Seq is the record's sequence number. The lockless ring stores it; for
	// the older layouts VMCOREINFO gives no sequence base, so Seq counts the
	// records read, from 0.
	Seq    uint64
	TsNsec uint64 // local_clock() timestamp in nanoseconds since boot

	Level    int // 0 (emergency) .. 7 (debug), or Unknown
	Facility int // syslog facility (0 kernel), or Unknown

	// CallerID is the raw caller id: a thread id, or with bit 31 set a CPU
	// number. HasCaller says whether the layout stores one.
	CallerID  uint32
	HasCaller bool

	Text      string // the message, without trailing newline
	Subsystem string // dev_printk_info.subsystem or the SUBSYSTEM= dictionary key
	Device    string // dev_printk_info.device or the DEVICE= dictionary key
	Dict      string // 3.5-5.9 dictionary: KEY=VALUE entries separated by NUL

	// NoData marks a lockless record whose descriptor has no text block
	// (an empty line, or a message whose data could not be allocated).
	NoData bool

	// WrapMarker marks no message but the zero-length record with which
	// the 3.5-5.9 buffer says "continued at the start". vmcore-dmesg
	// prints it as a line of its own (a bare zero timestamp), so
	// StyleDmesg does too, for byte-identical output; the other styles
	// and the JSON output leave it out, as crash and makedumpfile do.
	WrapMarker bool

	// Missing marks a record that could not be read because its descriptor,
	// info or text lies on a page the dump lacks; Err says why. Fields that
	// were read (Seq, TsNsec) are filled in.
	Missing bool
	Err     error

	// Plain-buffer records (3.4 and earlier) keep the line as it was: Prefix
	// is the "<N>" level prefix exactly as found (empty when the line had
	// none), Text the rest of the line, and Partial marks a last line that
	// had no newline yet. Their timestamps stay part of Text; TsNsec is
	// parsed from it when the line starts with one (CONFIG_PRINTK_TIME).
	Plain   bool
	Prefix  string
	Partial bool
}

// Caller formats the caller id as the kernel does: "T<pid>" for a thread,
// "C<cpu>" for a CPU. It is empty when the record has none.
func (r *Record) Caller() string {
	if !r.HasCaller {
		return ""
	}
	if r.CallerID&0x80000000 != 0 {
		return fmt.Sprintf("C%d", r.CallerID&^0x80000000)
	}
	return fmt.Sprintf("T%d", r.CallerID)
}

// Warning reports damage found while walking the log: the walk stops or
// skips, and says why.
type Warning struct {
	Addr uint64 // kernel virtual address involved, when there is one
	Msg  string
}

func (w Warning) String() string {
	if w.Addr != 0 {
		return fmt.Sprintf("printk: %s (at %#x)", w.Msg, w.Addr)
	}
	return "printk: " + w.Msg
}
