package repl

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmcoretools/vmcore/printk"
)

// kernelLog is the kernel log, read once per session.
type kernelLog struct {
	once     sync.Once
	records  []printk.Record
	warnings []printk.Warning
	err      error
}

// KernelLog returns the kernel log records, read on first use through the
// layout VMCOREINFO describes.
func (s *Session) KernelLog() ([]printk.Record, []printk.Warning, error) {
	s.klog.once.Do(func() {
		info, err := s.Dump.VMCOREINFO()
		if err != nil {
			s.klog.err = err
			return
		}
		layout, err := printk.LayoutFromVMCOREINFO(info)
		if err != nil {
			s.klog.err = err
			return
		}
		t, err := s.Translator()
		if err != nil {
			s.klog.err = err
			return
		}
		s.klog.records, s.klog.warnings, s.klog.err = printk.Read(t.ReaderAt(), layout)
		if s.klog.err != nil {
			s.klog.err = fmt.Errorf("kernel log: %w", s.klog.err)
		}
	})
	return s.klog.records, s.klog.warnings, s.klog.err
}

// bootTime estimates when the crashed kernel booted, for log -T. crash
// takes the dump's date minus the uptime in whole seconds (from jiffies);
// without a vmlinux the uptime is taken as the last log record's timestamp,
// which the crash follows within a second or so.
func (s *Session) bootTime() (time.Time, bool) {
	crashed, ok := s.Dump.CrashTime()
	if !ok {
		return time.Time{}, false
	}
	recs, _, err := s.KernelLog()
	if err != nil || len(recs) == 0 {
		return time.Time{}, false
	}
	var last uint64
	for _, r := range recs {
		if r.TsNsec > last {
			last = r.TsNsec
		}
	}
	return crashed.Add(-time.Duration(last/1e9) * time.Second), true
}
