package repl

import (
	"fmt"
	"time"

	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/system"
)

// KernelLog returns the kernel log records, read once per dump through the
// layout VMCOREINFO describes (vmcore.Dump.KernelLog).
func (s *Session) KernelLog() ([]printk.Record, []printk.Warning, error) {
	recs, warns, err := s.Dump.KernelLog()
	if err != nil {
		return nil, nil, fmt.Errorf("kernel log: %w", err)
	}
	return recs, warns, nil
}

// bootTime is when the crashed kernel booted, for log -T: as crash, the
// dump's date minus the uptime in whole seconds. With a vmlinux the uptime
// is jiffies over HZ, as crash counts it; without one, jiffies_64 read
// through the dump's kallsyms (vmcore.Dump.LogBootTime), or, before 6.0,
// the last log record's timestamp, which the crash follows within a second
// or so (not so for a dump of a live system).
func (s *Session) bootTime() (time.Time, bool) {
	crashed, ok := s.dumpTime()
	if !ok {
		return time.Time{}, false
	}
	if up, ok := s.uptime(); ok {
		return crashed.Add(-time.Duration(up) * time.Second), true
	}
	recs, _, err := s.KernelLog()
	if err != nil || len(recs) == 0 {
		return time.Time{}, false
	}
	if s.Debug == nil {
		// Without a vmlinux: jiffies_64 through the dump's kallsyms, as
		// vmcore dmesg -T (it falls back to the estimate below itself).
		if boot, _, ok := s.Dump.LogBootTime(recs); ok {
			return boot, true
		}
	}
	var last uint64
	for _, r := range recs {
		if r.TsNsec > last {
			last = r.TsNsec
		}
	}
	return crashed.Add(-time.Duration(last/1e9) * time.Second), true
}

// dumpTime is the date of the dump: VMCOREINFO's CRASHTIME or the kdump
// header, else (a dump of a live system, a QEMU dump) the kernel's clock,
// tk_core.timekeeper.xtime_sec, read as crash's get_xtime does.
func (s *Session) dumpTime() (time.Time, bool) {
	if t, ok := s.Dump.CrashTime(); ok {
		return t, true
	}
	if sec, ok := s.timekeeper("xtime_sec"); ok {
		return time.Unix(int64(sec), 0), true
	}
	return time.Time{}, false
}

// uptime is the time since boot in whole seconds as crash counts it
// (system.Uptime: jiffies over HZ); it needs the kernel's types (the
// vmlinux's, or its own BTF).
func (s *Session) uptime() (uint64, bool) {
	if !s.hasTypes() {
		return 0, false
	}
	vals, err := s.Values()
	if err != nil {
		return 0, false
	}
	up, err := system.Uptime(vals)
	return up, err == nil
}

func (s *Session) timekeeper(member string) (uint64, bool) {
	if !s.hasTypes() {
		return 0, false
	}
	vals, err := s.Values()
	if err != nil {
		return 0, false
	}
	tk, err := system.TimekeeperCore(vals)
	if err != nil {
		return 0, false
	}
	v, err := tk.Member("timekeeper." + member)
	if err != nil {
		return 0, false
	}
	n, err := v.Uint()
	return n, err == nil
}
