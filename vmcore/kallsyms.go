package vmcore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/kallsyms"
	"github.com/vmcoretools/vmcore/kbtf"
	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Kallsyms decodes the kernel's own symbol table from the dump's memory,
// located by VMCOREINFO (kernels from 6.0 on) or, before 6.0, found by its
// contents between SYMBOL(_stext) and SYMBOL(init_uts_ns)
// (kallsyms.Search): symbol names and addresses, KASLR included, without a
// vmlinux. The addresses are checked against
// VMCOREINFO's SYMBOL(_stext). The table is decoded on the first call
// (tens of milliseconds for 150,000 symbols) and kept by the Dump; every
// call returns the same table, which callers must not modify.
func (d *Dump) Kallsyms() (*kallsyms.Table, error) {
	d.ksymsOnce.Do(func() {
		r, loc, opt, err := d.kallsymsSource()
		if err != nil {
			d.ksymsErr = err
			return
		}
		d.ksyms, d.ksymsErr = kallsyms.Read(r, loc, opt)
	})
	return d.ksyms, d.ksymsErr
}

// KernelSymbols finds the named symbols in the kernel's symbol table, as
// Kallsyms but keeping only those (see kallsyms.Find): what a command needs
// for a few kernel variables. Names the kernel lacks are absent from the
// table returned.
func (d *Dump) KernelSymbols(names ...string) (*kallsyms.Table, error) {
	r, loc, opt, err := d.kallsymsSource()
	if err != nil {
		return nil, err
	}
	return kallsyms.Find(r, loc, opt, names...)
}

func (d *Dump) kallsymsSource() (io.ReaderAt, kallsyms.Locations, kallsyms.Options, error) {
	var opt kallsyms.Options
	info, err := d.VMCOREINFO()
	if err != nil {
		return nil, kallsyms.Locations{}, opt, err
	}
	tr, err := d.Translator()
	if err != nil {
		return nil, kallsyms.Locations{}, opt, err
	}
	stext, hasStext := info.Symbol("_stext")
	if hasStext {
		opt.Anchor = kallsyms.Anchor{Name: "_stext", Addr: stext}
	}
	loc, err := kallsyms.LocationsFromVMCOREINFO(info)
	if err != nil {
		if _, any := info.Symbol("kallsyms_names"); any || !hasStext {
			return nil, loc, opt, err
		}
		// Before 6.0: the tables lie in the image's read-only data,
		// between its text and its data (init_uts_ns).
		d.ksymsLocOnce.Do(func() {
			d.ksymsLoc, d.ksymsLocErr = searchKallsyms(tr.ReaderAt(), info, opt)
		})
		if d.ksymsLocErr != nil {
			return nil, loc, opt, fmt.Errorf("%w; nor were they found by their contents: %v", err, d.ksymsLocErr)
		}
		loc = d.ksymsLoc
	}
	return tr.ReaderAt(), loc, opt, nil
}

// searchKallsyms finds the tables between _stext and init_uts_ns and
// checks them: _stext must decode to its VMCOREINFO address.
func searchKallsyms(r io.ReaderAt, info *vmcoreinfo.Info, opt kallsyms.Options) (kallsyms.Locations, error) {
	end, ok := info.Symbol("init_uts_ns")
	if !ok || end <= opt.Anchor.Addr {
		return kallsyms.Locations{}, errors.New("VMCOREINFO has no SYMBOL(init_uts_ns) above SYMBOL(_stext) to bound the search")
	}
	loc, err := kallsyms.Search(r, opt.Anchor.Addr, end)
	if err != nil {
		return loc, err
	}
	if _, err := kallsyms.Find(r, loc, opt); err != nil {
		return kallsyms.Locations{}, fmt.Errorf("the table found at %#x does not decode: %w", loc.Names, err)
	}
	return loc, nil
}

// ReadSymbol reads len(p) bytes at the kallsyms symbol name.
func (d *Dump) ReadSymbol(syms *kallsyms.Table, name string, p []byte) error {
	s, ok := syms.Lookup(name)
	if !ok {
		return fmt.Errorf("vmcore: the kernel's symbol table has no %s", name)
	}
	if _, err := d.ReadVirt(p, s.Addr); err != nil {
		return fmt.Errorf("vmcore: reading %s at %#x: %w", name, s.Addr, err)
	}
	return nil
}

// Uptime is how long the kernel had run when it crashed, from its jiffies
// counter, as crash computes it for its UPTIME and for log -T.
type Uptime struct {
	Jiffies uint64 // jiffies_64 at the crash
	HZ      int    // the kernel's CONFIG_HZ, as derived (see HZFrom)
	// HZFrom says how HZ was found: "tick_nsec" or "the log clock".
	HZFrom string
	// Seconds is (jiffies_64 - INITIAL_JIFFIES) / HZ, truncated, where
	// INITIAL_JIFFIES is (unsigned long)(unsigned int)(-300*HZ): the
	// kernel starts the counter 300 s before a 32-bit wrap.
	Seconds uint64
}

// JiffiesUptime reads jiffies_64 through the kernel's symbol table and
// turns it into whole seconds of uptime, as crash's get_uptime does. The
// counter alone does not say how fast it ran: without a vmlinux (crash takes
// HZ from the kernel config or from DWARF constants) HZ is derived here:
//
//  1. from tick_nsec, the kernel's tick length in nanoseconds
//     (kernel/time/ntp.c sets it to NSEC_PER_SEC/HZ, adjusted by at most
//     a few hundred ppm by NTP): the choice of CONFIG_HZ whose period is
//     nearest, accepted within 5%;
//  2. failing that, from the log clock: logClock is the newest printk
//     timestamp, written shortly before the crash; the choice of CONFIG_HZ
//     whose uptime is nearest to it is taken when within max(2 s, 5%) of it.
//     Far from 300 s of uptime the choices are minutes apart; near 300 s
//     they give nearly the same uptime, so the fit cannot mislead by much.
func (d *Dump) JiffiesUptime(syms *kallsyms.Table, logClock time.Duration) (Uptime, error) {
	var b [8]byte
	if err := d.ReadSymbol(syms, "jiffies_64", b[:]); err != nil {
		return Uptime{}, err
	}
	u := Uptime{Jiffies: binary.LittleEndian.Uint64(b[:])}
	if err := d.ReadSymbol(syms, "tick_nsec", b[:]); err == nil {
		if hz, ok := system.HZFromTick(binary.LittleEndian.Uint64(b[:])); ok {
			u.HZ, u.HZFrom = hz, "tick_nsec"
		}
	}
	if u.HZ == 0 {
		hz, ok := hzFromLogClock(u.Jiffies, logClock)
		if !ok {
			return u, fmt.Errorf("vmcore: the kernel's HZ is unknown: no usable tick_nsec, and jiffies_64 %d fits no CONFIG_HZ choice %v against the log clock's %v", u.Jiffies, system.HZChoices, logClock)
		}
		u.HZ, u.HZFrom = hz, "the log clock"
	}
	u.Seconds = system.JiffiesSinceBoot(u.Jiffies, u.HZ) / uint64(u.HZ)
	return u, nil
}

func hzFromLogClock(j uint64, logClock time.Duration) (int, bool) {
	return system.HZFromClock(j, logClock.Seconds())
}

// PidMax reads the kernel's pid_max through its symbol table.
func (d *Dump) PidMax(syms *kallsyms.Table) (int, error) {
	var b [4]byte
	if err := d.ReadSymbol(syms, "pid_max", b[:]); err != nil {
		return 0, err
	}
	return int(int32(binary.LittleEndian.Uint32(b[:]))), nil
}

// Where struct timekeeper (kernel/time/timekeeping.c) keeps the wall clock:
// the offsets of xtime_sec, ktime_sec and wall_to_monotonic. From 3.17 to
// 6.12 they follow two struct tk_read_base of 56 bytes (tkr_mono,
// tkr_raw); in 7.2 they follow tkr_mono alone. VMCOREINFO does not
// describe the struct; TimekeeperTime takes the layout whose values agree.
var tkLayouts = [][3]int{{112, 120, 128}, {56, 64, 72}}

// TimekeeperTime reads the wall-clock time the kernel last kept, in whole
// seconds: shadow_timekeeper.xtime_sec, which crash prints as DATE. It
// serves dumps without CRASHTIME (QEMU dumps, dumps of a live system). A
// layout (tkLayouts) is accepted only when its values agree with each
// other: a date after 2000, and monotonic seconds (ktime_sec) equal, within
// a second, to xtime_sec plus wall_to_monotonic.tv_sec.
//
// Kernels since 7.x keep their timekeepers in timekeeper_data, whose first
// element holds the core timekeeper after an 8-byte sequence count; it
// stands in where there is no shadow_timekeeper, checked the same way.
func (d *Dump) TimekeeperTime(syms *kallsyms.Table) (time.Time, error) {
	var b [136]byte
	name := "shadow_timekeeper"
	if err := d.ReadSymbol(syms, name, b[:]); err != nil {
		s, ok := syms.Lookup("timekeeper_data")
		if !ok {
			return time.Time{}, fmt.Errorf("vmcore: the kernel's symbol table has neither shadow_timekeeper nor timekeeper_data")
		}
		name = "timekeeper_data"
		if _, err := d.ReadVirt(b[:], s.Addr+8); err != nil {
			return time.Time{}, fmt.Errorf("vmcore: reading timekeeper_data at %#x: %w", s.Addr, err)
		}
	}
	const y2000, y2200 = 946684800, 7258118400
	var tried []string
	for _, l := range tkLayouts {
		xtime := int64(binary.LittleEndian.Uint64(b[l[0]:]))
		ktime := int64(binary.LittleEndian.Uint64(b[l[1]:]))
		wtm := int64(binary.LittleEndian.Uint64(b[l[2]:]))
		if skew := ktime - (xtime + wtm); xtime >= y2000 && xtime <= y2200 && ktime >= 0 && skew >= -1 && skew <= 1 {
			return time.Unix(xtime, 0).UTC(), nil
		}
		tried = append(tried, fmt.Sprintf("xtime_sec %d, ktime_sec %d, wall_to_monotonic %d s at offsets %d, %d, %d", xtime, ktime, wtm, l[0], l[1], l[2]))
	}
	return time.Time{}, fmt.Errorf("vmcore: %s is laid out as none of the known timekeepers (%s)", name, strings.Join(tried, "; "))
}

// KernelBTF reads the kernel's BTF from the dump's memory: the .BTF
// section, mapped from __start_BTF to __stop_BTF, found through the
// kernel's symbol table (kernels with kallsyms in VMCOREINFO: 6.0+).
func (d *Dump) KernelBTF() ([]byte, error) {
	syms, err := d.KernelSymbols("__start_BTF", "__stop_BTF")
	if err != nil {
		return nil, fmt.Errorf("vmcore: the kernel's BTF: %w", err)
	}
	return readBTF(d, syms)
}

func readBTF(d *Dump, syms *kallsyms.Table) ([]byte, error) {
	start, ok1 := syms.Lookup("__start_BTF")
	stop, ok2 := syms.Lookup("__stop_BTF")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("vmcore: the kernel has no BTF (no __start_BTF/__stop_BTF: built without CONFIG_DEBUG_INFO_BTF)")
	}
	if stop.Addr <= start.Addr || stop.Addr-start.Addr > kbtf.MaxSize {
		return nil, fmt.Errorf("vmcore: the kernel's BTF: __start_BTF %#x to __stop_BTF %#x is no BTF section", start.Addr, stop.Addr)
	}
	raw := make([]byte, stop.Addr-start.Addr)
	if _, err := d.ReadVirt(raw, start.Addr); err != nil {
		return nil, fmt.Errorf("vmcore: reading the kernel's BTF at %#x: %w", start.Addr, err)
	}
	return raw, nil
}

// HasOwnTypes tells whether the dump carries what KernelFromDump needs:
// the kernel's kallsyms (VMCOREINFO locates them from 6.0 on) and its BTF
// (CONFIG_DEBUG_INFO_BTF) in memory.
func (d *Dump) HasOwnTypes() bool {
	syms, err := d.Kallsyms()
	if err != nil {
		return false
	}
	_, ok1 := syms.Lookup("__start_BTF")
	_, ok2 := syms.Lookup("__stop_BTF")
	return ok1 && ok2
}
