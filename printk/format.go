package printk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Style selects one of the output layouts.
type Style int

const (
	// StyleDmesg is kexec-tools vmcore-dmesg: "[%5d.%06d] text", bytes
	// that are neither printable nor space escaped as \xNN, newlines inside
	// a record printed as they are; plain-buffer logs printed raw.
	StyleDmesg Style = iota
	// StyleCrash is crash's log command: the same prefix (or the -T, -c,
	// -m variants), non-printable bytes as '.', and the continuation lines
	// of a multi-line record indented by the prefix width.
	StyleCrash
	// StyleJSON is one JSON object per record.
	StyleJSON
)

// Formatter turns records into text. The zero value prints StyleDmesg.
type Formatter struct {
	Style Style

	// crash log flags, used by StyleCrash.
	NoTime bool // -t: no timestamp
	CTime  bool // -T: wall-clock time, BootTime plus the timestamp
	Level  bool // -m: "<level>" after the prefix
	Caller bool // -c: "[T123] " caller id, padded to CallerWidth
	Dict   bool // -d: SUBSYSTEM=/DEVICE= (and 3.5-5.9 dictionary) lines

	// BootTime is the wall-clock time of boot, for CTime. crash computes it
	// as the dump's date minus the uptime in whole seconds.
	BootTime time.Time
	// Location for CTime; nil means time.Local, as crash's localtime().
	Location *time.Location
	// CallerWidth pads the caller id as crash's "[%*s] ". crash takes 6 or
	// 7 from the kernel's pid_max when it can read it and 8 otherwise; 0
	// means 8.
	CallerWidth int
}

// Append appends the formatted record to dst. Missing records produce
// nothing in the text styles (the caller reports them from Record.Err) and
// an object with "missing": true in StyleJSON. Wrap markers appear only in
// StyleDmesg (see Record.WrapMarker).
func (f *Formatter) Append(dst []byte, r *Record) []byte {
	switch f.Style {
	case StyleCrash:
		return f.appendCrash(dst, r)
	case StyleJSON:
		return appendJSON(dst, r)
	}
	return appendDmesg(dst, r)
}

// Write formats all records to w.
func (f *Formatter) Write(w io.Writer, recs []Record) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf []byte
	for i := range recs {
		buf = f.Append(buf[:0], &recs[i])
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// isPrintOrSpace is C's isprint(c) || isspace(c) in the "C" locale, the
// test vmcore-dmesg, makedumpfile and crash apply to every byte.
func isPrintOrSpace(c byte) bool {
	return (c >= 0x20 && c <= 0x7e) || (c >= '\t' && c <= '\r')
}

func appendTimestamp(dst []byte, ns uint64) []byte {
	// "[%5llu.%06llu] "
	sec, usec := ns/1e9, ns%1e9/1e3
	dst = append(dst, '[')
	s := strconv.AppendUint(nil, sec, 10)
	for i := len(s); i < 5; i++ {
		dst = append(dst, ' ')
	}
	dst = append(dst, s...)
	dst = append(dst, '.')
	u := strconv.AppendUint(nil, usec, 10)
	for i := len(u); i < 6; i++ {
		dst = append(dst, '0')
	}
	dst = append(dst, u...)
	return append(dst, "] "...)
}

const hexDigits = "0123456789abcdef"

func appendDmesg(dst []byte, r *Record) []byte {
	if r.Missing {
		return dst
	}
	if r.Plain {
		dst = append(dst, r.Prefix...)
		dst = append(dst, r.Text...)
		if !r.Partial {
			dst = append(dst, '\n')
		}
		return dst
	}
	dst = appendTimestamp(dst, r.TsNsec)
	for i := 0; i < len(r.Text); i++ {
		c := r.Text[i]
		if isPrintOrSpace(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return append(dst, '\n')
}

func (f *Formatter) appendCrash(dst []byte, r *Record) []byte {
	if r.Missing || r.WrapMarker {
		return dst
	}
	if r.Plain {
		// crash prints the old character buffer as it is, like
		// vmcore-dmesg, with non-printable bytes as '.'.
		dst = append(dst, r.Prefix...)
		for i := 0; i < len(r.Text); i++ {
			dst = append(dst, crashByte(r.Text[i]))
		}
		if !r.Partial {
			dst = append(dst, '\n')
		}
		return dst
	}
	if r.NoData {
		// crash skips data-less lockless records' prefix: an empty line.
		return append(dst, '\n')
	}
	start := len(dst)
	if !f.NoTime {
		if f.CTime {
			loc := f.Location
			if loc == nil {
				loc = time.Local
			}
			t := f.BootTime.Add(time.Duration(r.TsNsec/1e9) * time.Second).In(loc)
			dst = append(dst, '[')
			dst = t.AppendFormat(dst, "Mon Jan _2 15:04:05 MST 2006")
			dst = append(dst, "] "...)
		} else {
			dst = appendTimestamp(dst, r.TsNsec)
		}
	}
	if f.Caller && r.HasCaller {
		w := f.CallerWidth
		if w <= 0 {
			w = 8
		}
		dst = fmt.Appendf(dst, "[%*s] ", w, r.Caller())
	}
	if f.Level && r.Level != Unknown {
		dst = fmt.Appendf(dst, "<%x>", r.Level)
	}
	indent := strings.Repeat(" ", len(dst)-start)
	for i := 0; i < len(r.Text); i++ {
		c := r.Text[i]
		if c == '\n' {
			dst = append(dst, '\n')
			dst = append(dst, indent...)
		} else {
			dst = append(dst, crashByte(c))
		}
	}
	if f.Dict {
		if r.Dict != "" {
			// 3.5-5.9: the dictionary, one KEY=VALUE per line.
			dst = append(dst, '\n')
			dst = append(dst, indent...)
			for i := 0; i < len(r.Dict); i++ {
				c := r.Dict[i]
				switch {
				case c == 0:
					dst = append(dst, '\n')
					dst = append(dst, indent...)
				case c >= 0x20 && c <= 0x7e:
					dst = append(dst, c)
				default:
					dst = append(dst, '.')
				}
			}
		} else {
			if r.Subsystem != "" {
				dst = append(dst, '\n')
				dst = append(dst, indent...)
				dst = append(dst, "SUBSYSTEM="...)
				dst = append(dst, r.Subsystem...)
			}
			if r.Device != "" {
				dst = append(dst, '\n')
				dst = append(dst, indent...)
				dst = append(dst, "DEVICE="...)
				dst = append(dst, r.Device...)
			}
		}
	}
	return append(dst, '\n')
}

func crashByte(c byte) byte {
	if isPrintOrSpace(c) {
		return c
	}
	return '.'
}

type jsonRecord struct {
	Seq       uint64  `json:"seq"`
	TsNsec    uint64  `json:"ts_nsec"`
	Level     *int    `json:"level"`
	Facility  *int    `json:"facility"`
	Caller    *string `json:"caller"`
	Text      string  `json:"text"`
	Subsystem string  `json:"subsystem"`
	Device    string  `json:"device"`
	Missing   bool    `json:"missing,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// appendJSON writes one object per line. Text is a JSON string; bytes that
// are not valid UTF-8 become U+FFFD, as encoding/json does.
func appendJSON(dst []byte, r *Record) []byte {
	if r.WrapMarker {
		return dst
	}
	j := jsonRecord{Seq: r.Seq, TsNsec: r.TsNsec, Text: r.Text, Subsystem: r.Subsystem, Device: r.Device, Missing: r.Missing}
	if r.Level != Unknown {
		v := r.Level
		j.Level = &v
	}
	if r.Facility != Unknown {
		v := r.Facility
		j.Facility = &v
	}
	if r.HasCaller {
		c := r.Caller()
		j.Caller = &c
	}
	if r.Err != nil {
		j.Error = r.Err.Error()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)               // keep "<TASK>" readable
	if err := enc.Encode(&j); err != nil { // cannot happen for these field types
		return fmt.Appendf(dst, "{\"error\":%q}\n", err.Error())
	}
	return append(dst, b.Bytes()...) // Encode ends the line
}
