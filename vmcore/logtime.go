package vmcore

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmcoretools/vmcore/kallsyms"
	"github.com/vmcoretools/vmcore/printk"
)

// The kernel log's wall-clock stamps and caller-id width as crash prints
// them (log -T, log -c), from the dump alone: shared by vmcore dmesg and
// the REPL's log when no vmlinux is given.

// logVars holds the kernel variables log -T and -c need, read through
// the dump's kallsyms (6.0 and later) with the table searched once.
type logVars struct {
	once    sync.Once
	syms    *kallsyms.Table
	symsErr error
}

// logVarTable finds, in one pass over the kernel's name table, every
// variable that log -T and -c read.
func (d *Dump) logVarTable() (*kallsyms.Table, error) {
	k := &d.logVars
	k.once.Do(func() {
		k.syms, k.symsErr = d.KernelSymbols("jiffies_64", "tick_nsec", "shadow_timekeeper", "timekeeper_data", "pid_max")
	})
	return k.syms, k.symsErr
}

// LogBootTime is the wall-clock time of boot for log -T, as crash computes it: the
// date of the crash minus the uptime in whole seconds from jiffies_64.
//
// The date is VMCOREINFO's CRASHTIME; dumps without it (QEMU's, or of a
// live system) take the kernel's timekeeper (shadow_timekeeper.xtime_sec),
// which is what crash reads in every case. Without kallsyms (kernels before
// 6.0) the last record's timestamp, truncated to whole seconds, stands in
// for the uptime; jiffies and the log clock differ by a fraction of a
// second, so a stamp can then be a second off crash's. note, when set, says
// what was assumed; ok is false when no date is known.
func (d *Dump) LogBootTime(recs []printk.Record) (boot time.Time, note string, ok bool) {
	var last uint64
	for i := range recs {
		if !recs[i].Missing && recs[i].TsNsec > last {
			last = recs[i].TsNsec
		}
	}
	syms, symsErr := d.logVarTable()
	date, ok := d.CrashTime()
	if !ok {
		if symsErr != nil {
			return time.Time{}, fmt.Sprintf("the dump records no crash time (no CRASHTIME, as in a QEMU dump) and the kernel's timekeeper cannot be found (%v); printing seconds since boot", symsErr), false
		}
		var err error
		if date, err = d.TimekeeperTime(syms); err != nil {
			return time.Time{}, fmt.Sprintf("the dump records no crash time (no CRASHTIME, as in a QEMU dump) and %v; printing seconds since boot", err), false
		}
	}
	err := symsErr
	if err == nil {
		var up Uptime
		up, err = d.JiffiesUptime(syms, time.Duration(last))
		if err == nil {
			if up.HZFrom != "tick_nsec" {
				note = fmt.Sprintf("HZ=%d fitted to the log clock (no usable tick_nsec)", up.HZ)
			}
			return date.Add(-time.Duration(up.Seconds) * time.Second), note, true
		}
	}
	note = fmt.Sprintf("no uptime from jiffies (%v); boot time estimated from the last record's timestamp, stamps may be a second off crash's log -T", err)
	return date.Add(-time.Duration(last/1e9) * time.Second), note, true
}

// LogCallerWidth is crash's width of the caller id (log -c): from pid_max for the
// lockless ring (5.10+), PID_CHARS_DEFAULT (8) for the older record log.
func (d *Dump) LogCallerWidth() (width int, note string) {
	const pidCharsDefault = 8
	if info := d.Info(); info == nil {
		return pidCharsDefault, ""
	} else if _, lockless := info.Symbol("prb"); !lockless {
		return pidCharsDefault, ""
	}
	syms, err := d.logVarTable()
	if err != nil {
		return pidCharsDefault, fmt.Sprintf("pid_max unknown (%v); width %d", err, pidCharsDefault)
	}
	pidMax, err := d.PidMax(syms)
	if err != nil {
		return pidCharsDefault, fmt.Sprintf("pid_max unknown (%v); width %d", err, pidCharsDefault)
	}
	switch {
	case pidMax <= 99999:
		return 6, ""
	case pidMax <= 999999:
		return 7, ""
	}
	return pidCharsDefault, ""
}
