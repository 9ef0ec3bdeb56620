package vmcoreinfo

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxSize bounds the note's text. The kernel reserves one page for it
// (VMCOREINFO_BYTES); anything far larger is corrupt.
const MaxSize = 1 << 20

// ErrEmpty is returned by Parse for a note without a single KEY=VALUE line.
var ErrEmpty = errors.New("vmcoreinfo: no KEY=VALUE lines")

// Info is a parsed VMCOREINFO note. The zero value holds nothing.
type Info struct {
	keys   []string          // in note order, without duplicates
	values map[string]string // last value wins, as in the kernel's readers
	raw    []byte
}

// Parse reads VMCOREINFO text. Lines without '=' and trailing NUL padding are
// ignored; a value that does not parse is reported by the typed getter that
// asks for it (ok == false), not here, so one odd line never hides the rest.
func Parse(data []byte) (*Info, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("vmcoreinfo: note of %d bytes exceeds the %d-byte limit", len(data), MaxSize)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	info := &Info{values: make(map[string]string), raw: append([]byte(nil), data...)}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		if _, seen := info.values[k]; !seen {
			info.keys = append(info.keys, k)
		}
		info.values[k] = v
	}
	if len(info.keys) == 0 {
		return nil, ErrEmpty
	}
	return info, nil
}

// Raw returns the note's text as parsed (without NUL padding).
func (i *Info) Raw() []byte { return i.raw }

// Keys returns every key in note order.
func (i *Info) Keys() []string { return append([]string(nil), i.keys...) }

// Get returns the raw value of key, e.g. Get("SYMBOL(prb)").
func (i *Info) Get(key string) (string, bool) {
	if i == nil {
		return "", false
	}
	v, ok := i.values[key]
	return v, ok
}

func (i *Info) hex(key string) (uint64, bool) {
	v, ok := i.Get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(v), "0x"), 16, 64)
	return n, err == nil
}

func (i *Info) dec(key string) (uint64, bool) {
	v, ok := i.Get(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// OSRelease is the kernel release (uname -r) of the crashed kernel.
func (i *Info) OSRelease() string { v, _ := i.Get("OSRELEASE"); return v }

// BuildID is the kernel's GNU build ID in hex (kernels 5.9 and later).
func (i *Info) BuildID() string { v, _ := i.Get("BUILD-ID"); return strings.ToLower(v) }

// PageSize is the kernel's page size in bytes.
// A value that is no power of two from 4 KiB to 1 MiB is reported absent.
func (i *Info) PageSize() (uint64, bool) {
	n, ok := i.dec("PAGESIZE")
	if !ok || n < 4096 || n > 1<<20 || n&(n-1) != 0 {
		return 0, false
	}
	return n, true
}

// Symbol returns SYMBOL(name): a kernel virtual address.
func (i *Info) Symbol(name string) (uint64, bool) { return i.hex("SYMBOL(" + name + ")") }

// Size returns SIZE(name): sizeof a type in bytes.
func (i *Info) Size(name string) (uint64, bool) { return i.dec("SIZE(" + name + ")") }

// Offset returns OFFSET(typ.member): a member's byte offset.
func (i *Info) Offset(typ, member string) (uint64, bool) {
	return i.dec("OFFSET(" + typ + "." + member + ")")
}

// Length returns LENGTH(name): an array's element count.
func (i *Info) Length(name string) (uint64, bool) { return i.dec("LENGTH(" + name + ")") }

// Number returns NUMBER(name), a signed decimal constant. Some kernels print
// large unsigned values (sme_mask, VMALLOC_START) that overflow int64; those
// are returned with the same bits.
func (i *Info) Number(name string) (int64, bool) {
	v, ok := i.Get("NUMBER(" + name + ")")
	if !ok {
		return 0, false
	}
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, true
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		return int64(n), true
	}
	if strings.HasPrefix(v, "0x") {
		if n, err := strconv.ParseUint(v[2:], 16, 64); err == nil {
			return int64(n), true
		}
	}
	return 0, false
}

// Config returns the value of CONFIG_name (usually "y").
func (i *Info) Config(name string) (string, bool) {
	return i.Get("CONFIG_" + strings.TrimPrefix(name, "CONFIG_"))
}

// KernelOffset is the KASLR offset of the kernel image (KERNELOFFSET, hex).
func (i *Info) KernelOffset() (uint64, bool) { return i.hex("KERNELOFFSET") }

// CrashTime is when the kernel crashed (CRASHTIME, seconds since the epoch),
// appended by the kernel at panic time; absent in dumps of a live system.
func (i *Info) CrashTime() (time.Time, bool) {
	v, ok := i.Get("CRASHTIME")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 || n >= maxCrashTime {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// maxCrashTime is the first second of the year 10000: a CRASHTIME at or
// beyond it is no date a kernel wrote.
const maxCrashTime = 253402300800

// Invalid lists the keys that are present but whose values cannot be
// what the kernel writes there, as "KEY=VALUE: why": a SYMBOL that is no
// hexadecimal address, an OFFSET, SIZE or LENGTH that is no decimal
// number, a NUMBER that is neither, a PAGESIZE that is no power of two
// from 4 KiB to 1 MiB, a CRASHTIME that is no date. The getters report
// such a key as absent; this says why.
func (i *Info) Invalid() []string {
	if i == nil {
		return nil
	}
	var out []string
	bad := func(k, why string) { out = append(out, fmt.Sprintf("%s=%s: %s", k, shorten(i.values[k], 40), why)) }
	for _, k := range i.keys {

		switch {
		case strings.HasPrefix(k, "SYMBOL("), k == "KERNELOFFSET":
			if _, ok := i.hex(k); !ok {
				bad(k, "not a hexadecimal address")
			}
		case strings.HasPrefix(k, "OFFSET("), strings.HasPrefix(k, "SIZE("), strings.HasPrefix(k, "LENGTH("):
			if _, ok := i.dec(k); !ok {
				bad(k, "not a decimal number")
			}
		case strings.HasPrefix(k, "NUMBER("):
			if _, ok := i.Number(strings.TrimSuffix(strings.TrimPrefix(k, "NUMBER("), ")")); !ok {
				bad(k, "not a number")
			}
		case k == "PAGESIZE":
			if n, ok := i.dec(k); !ok || n < 4096 || n > 1<<20 || n&(n-1) != 0 {
				bad(k, "not a page size (a power of two from 4096 to 1048576)")
			}
		case k == "CRASHTIME":
			if _, ok := i.CrashTime(); !ok {
				bad(k, "not a date (seconds since 1970, before the year 10000)")
			}
		}
	}
	return out
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
