package system

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// ErrNoTypes is the reason of a field that needs the kernel's types (a
// debuginfo vmlinux or BTF) when Sources has none.
var ErrNoTypes = errors.New("needs the kernel's types (vmlinux)")

// Summary is the system at the time of the dump: what crash's sys shows,
// and the CPU and task that panicked. A pointer field is nil when it is not
// known; Unknown then says why, by the field's JSON name.
type Summary struct {
	// CPUs is the number of CPUs present (cpu_present_mask), or, when
	// the mask cannot be read, the number the dump saved registers for.
	CPUs int `json:"cpus"`
	// OfflineCPUs is the number of present CPUs not online at the time
	// of the dump (0 when unknown).
	OfflineCPUs int `json:"offline_cpus"`
	// Date is when the dump was taken: the dump's own record, else the
	// kernel's clock (tk_core.timekeeper.xtime_sec).
	Date *time.Time `json:"date"`
	// UptimeSeconds is the time since boot in whole seconds, jiffies over
	// HZ as crash counts it (Uptime).
	UptimeSeconds *uint64 `json:"uptime_seconds"`
	// LoadAverage is avenrun[].
	LoadAverage *LoadAverage `json:"load_average"`
	// Tasks counts the tasks crash lists: every thread, and each CPU's
	// idle task.
	Tasks *int `json:"tasks"`
	// Uname is init_uts_ns.name. Without it, Release and Machine come
	// from the dump (VMCOREINFO's OSRELEASE, the dump's machine).
	Uname *Utsname `json:"uname"`
	// Release and Machine are Uname's, or the dump's without Uname.
	Release string `json:"release"`
	Machine string `json:"machine"`
	// CPUMHz is the processor speed (x86: cpu_khz / 1000).
	CPUMHz *uint64 `json:"cpu_mhz"`
	// MemoryBytes is the memory size: the pages present in the memory
	// nodes, or the RAM the dump describes.
	MemoryBytes *uint64 `json:"memory_bytes"`
	// Panic is the panic message and where it happened.
	Panic Panic `json:"panic"`
	// Taint is the kernel's taint flags (tainted_mask; TaintFlags names
	// them); nonzero makes crash mark its KERNEL line [TAINTED].
	Taint *uint64 `json:"taint"`
	// Unknown says why each nil field is not known, by JSON name.
	Unknown map[string]string `json:"unknown,omitempty"`
}

// Panic says how the kernel crashed.
type Panic struct {
	// Message is the first kernel log line holding the most severe of
	// the messages crash looks for ("Kernel panic - not syncing: ..."),
	// "" when none is found.
	Message string `json:"message"`
	// Oops is true when Message is an oops ("Oops: "): the log holds the
	// details.
	Oops bool `json:"oops,omitempty"`
	// CPU is the CPU that called panic (panic_cpu), -1 when none did or
	// it is unknown.
	CPU int `json:"cpu"`
	// Task is the task current on CPU; nil when unknown.
	Task *Task `json:"task"`
}

// Task names a task.
type Task struct {
	Addr uint64 `json:"addr"`
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
}

// Sources is what Summarize reads. Every field may be zero: the fields
// that need it are then unknown.
type Sources struct {
	// Values is the kernel's types over its memory; nil without a
	// vmlinux (or BTF).
	Values *value.Context
	// Tasks returns the task table (TASKS, the panic task); nil means
	// tasks.Load(Values).
	Tasks func() (*tasks.Table, error)
	// Info is the dump's VMCOREINFO; with Mem, it gives the uname fields
	// without Values.
	Info *vmcoreinfo.Info
	// Mem is kernel virtual memory (offset = address).
	Mem io.ReaderAt
	// DumpCPUs is the number of CPUs the dump saved registers for.
	DumpCPUs int
	// CrashTime is when the dump was taken, as the dump records it; zero
	// when it does not.
	CrashTime time.Time
	// PageSize is the kernel's page size as the dump records it; 0 means
	// VMCOREINFO's PAGESIZE.
	PageSize uint64
	// Release and Machine are the dump's own (VMCOREINFO's OSRELEASE,
	// the ELF machine), for when init_uts_ns cannot be read.
	Release, Machine string
	// RAM returns the bytes of RAM the dump describes, for when the
	// memory nodes cannot be read.
	RAM func() (uint64, error)
	// Log returns the kernel log, for the panic message.
	Log func() ([]printk.Record, error)
}

func (src *Sources) pageSize() (uint64, error) {
	if src.PageSize != 0 {
		return src.PageSize, nil
	}
	if src.Info != nil {
		if n, ok := src.Info.PageSize(); ok && n != 0 {
			return n, nil
		}
	}
	return 0, errors.New("system: the page size is unknown")
}

// Summarize reads the summary. It does not fail: what cannot be read is
// nil, with its reason in Unknown.
func Summarize(src Sources) *Summary {
	s := &Summary{Unknown: map[string]string{}, Panic: Panic{CPU: -1}}
	unknown := func(field string, err error) { s.Unknown[field] = err.Error() }
	c := src.Values
	noTypes := c == nil

	// CPUS: present, and offline ones.
	s.CPUs = src.DumpCPUs
	if !noTypes {
		if present, online, err := CPUCounts(c); err == nil && present > 0 {
			s.CPUs = present
			if online > 0 && present > online {
				s.OfflineCPUs = present - online
			}
		}
	}

	// DATE, UPTIME.
	if !src.CrashTime.IsZero() {
		t := src.CrashTime
		s.Date = &t
	} else if noTypes {
		unknown("date", errors.New("the dump does not record it; the kernel's clock needs the kernel's types"))
	} else if t, err := Clock(c); err == nil {
		s.Date = &t
	} else {
		unknown("date", err)
	}
	if noTypes {
		unknown("uptime_seconds", ErrNoTypes)
	} else if up, err := Uptime(c); err == nil {
		s.UptimeSeconds = &up
	} else {
		unknown("uptime_seconds", err)
	}

	// LOAD AVERAGE, TASKS.
	if noTypes {
		unknown("load_average", ErrNoTypes)
	} else if la, err := LoadAvg(c); err == nil {
		s.LoadAverage = &la
	} else {
		unknown("load_average", err)
	}
	var tb *tasks.Table
	if noTypes {
		unknown("tasks", ErrNoTypes)
	} else {
		var err error
		if src.Tasks != nil {
			tb, err = src.Tasks()
		} else {
			tb, err = tasks.Load(c)
			if tb != nil && s.UptimeSeconds != nil {
				tb.Uptime = *s.UptimeSeconds
			}
		}
		if err == nil && tb == nil {
			err = errors.New("no task table")
		}
		if err == nil {
			n := len(tb.Tasks)
			s.Tasks = &n
		} else {
			tb = nil
			unknown("tasks", err)
		}
	}

	// The taint flags.
	if noTypes {
		unknown("taint", ErrNoTypes)
	} else if t, err := TaintMask(c); err == nil {
		s.Taint = &t
	} else {
		unknown("taint", err)
	}

	// The uname fields.
	var u Utsname
	var err error
	if noTypes {
		u, err = UnameFromVMCOREINFO(src.Mem, src.Info)
	} else {
		u, err = Uname(c)
	}
	if err == nil {
		s.Uname = &u
		s.Release, s.Machine = u.Release, u.Machine
	} else {
		unknown("uname", err)
		s.Release, s.Machine = src.Release, src.Machine
	}

	// MHz, MEMORY.
	if noTypes {
		unknown("cpu_mhz", ErrNoTypes)
	} else if khz, err := CPUKHz(c); err == nil {
		mhz := khz / 1000
		s.CPUMHz = &mhz
	} else {
		unknown("cpu_mhz", err)
	}
	var pagesErr error = ErrNoTypes
	if !noTypes {
		var pages, pageSize uint64
		if pages, pagesErr = PresentPages(c); pagesErr == nil {
			if pageSize, pagesErr = src.pageSize(); pagesErr == nil {
				b := pages * pageSize
				s.MemoryBytes = &b
			}
		}
	}
	if s.MemoryBytes == nil {
		if src.RAM == nil {
			unknown("memory_bytes", pagesErr)
		} else if b, err := src.RAM(); err == nil {
			s.MemoryBytes = &b
		} else {
			unknown("memory_bytes", err)
		}
	}

	// PANIC.
	if src.Log != nil {
		if recs, err := src.Log(); err == nil {
			s.Panic.Message = PanicMessage(recs)
			s.Panic.Oops = strings.Contains(s.Panic.Message, "Oops: ")
		}
	}
	if tb != nil {
		s.Panic.CPU = tasks.PanicCPU(c, len(tb.Current))
		if s.Panic.CPU >= 0 && s.Panic.CPU < len(tb.Current) {
			if t := tb.ByAddr(tb.Current[s.Panic.CPU]); t != nil {
				s.Panic.Task = &Task{Addr: t.Addr, PID: t.PID, Comm: t.Comm}
			}
		}
	}
	if len(s.Unknown) == 0 {
		s.Unknown = nil
	}
	return s
}

// Utsname is the kernel's struct new_utsname.
type Utsname struct {
	Sysname    string `json:"sysname"`
	Nodename   string `json:"nodename"`
	Release    string `json:"release"`
	Version    string `json:"version"`
	Machine    string `json:"machine"`
	Domainname string `json:"domainname"`
}

// utsLen is the size of each of struct new_utsname's strings
// (__NEW_UTS_LEN + 1).
const utsLen = 65

// Uname reads init_uts_ns.name.
func Uname(c *value.Context) (Utsname, error) {
	ns, err := c.Var("init_uts_ns")
	if err != nil {
		return Utsname{}, err
	}
	name, err := ns.Member("name")
	if err != nil {
		return Utsname{}, err
	}
	var u Utsname
	for _, f := range []struct {
		member string
		to     *string
	}{{"sysname", &u.Sysname}, {"nodename", &u.Nodename}, {"release", &u.Release}, {"version", &u.Version}, {"machine", &u.Machine}, {"domainname", &u.Domainname}} {
		m, err := name.Member(f.member)
		if err != nil {
			return Utsname{}, err
		}
		if *f.to, err = m.CString(utsLen); err != nil {
			return Utsname{}, err
		}
	}
	if u.Sysname != "Linux" {
		return Utsname{}, fmt.Errorf("system: init_uts_ns at %#x does not hold a utsname (sysname %q)", ns.Addr, u.Sysname)
	}
	return u, nil
}

// UnameFromVMCOREINFO reads init_uts_ns.name without the kernel's types:
// at SYMBOL(init_uts_ns) plus OFFSET(uts_namespace.name), six 65-byte
// strings (ParseUtsname).
func UnameFromVMCOREINFO(mem io.ReaderAt, info *vmcoreinfo.Info) (Utsname, error) {
	if info == nil {
		return Utsname{}, errors.New("system: no VMCOREINFO")
	}
	if mem == nil {
		return Utsname{}, errors.New("system: no kernel virtual memory")
	}
	base, ok := info.Symbol("init_uts_ns")
	if !ok {
		return Utsname{}, errors.New("system: VMCOREINFO has no SYMBOL(init_uts_ns)")
	}
	off, ok := info.Offset("uts_namespace", "name")
	if !ok {
		return Utsname{}, errors.New("system: VMCOREINFO has no OFFSET(uts_namespace.name)")
	}
	buf := make([]byte, 6*utsLen)
	if n, err := mem.ReadAt(buf, int64(base+off)); n < len(buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return Utsname{}, fmt.Errorf("system: reading init_uts_ns at %#x: %w", base+off, err)
	}
	u, err := ParseUtsname(buf)
	if err != nil {
		return Utsname{}, fmt.Errorf("system: init_uts_ns at %#x: %w", base+off, err)
	}
	return u, nil
}

// ParseUtsname decodes a struct new_utsname: six NUL-padded 65-byte
// strings. It fails on a short buffer or one whose sysname is not "Linux".
func ParseUtsname(b []byte) (Utsname, error) {
	if len(b) < 6*utsLen {
		return Utsname{}, fmt.Errorf("system: utsname of %d bytes, want %d", len(b), 6*utsLen)
	}
	str := func(i int) string {
		f := b[i*utsLen : (i+1)*utsLen]
		if n := bytes.IndexByte(f, 0); n >= 0 {
			f = f[:n]
		}
		return string(f)
	}
	u := Utsname{str(0), str(1), str(2), str(3), str(4), str(5)}
	if u.Sysname != "Linux" {
		return Utsname{}, fmt.Errorf("system: not a utsname (sysname %q)", u.Sysname)
	}
	return u, nil
}
