package triage

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/tasks"
)

// WriteText writes the report for a person to read: the verdict first,
// then the evidence.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	f := r.Failure
	what := string(f.Kind)
	if f.Message != "" {
		what += " (" + f.Message + ")"
	} else if f.Kind == KindNone {
		what += " (no panic: a dump of a running machine)"
	}
	p("WHAT:        %s\n", what)
	if f.Trigger != "" && f.Trigger != f.Message {
		p("REPORTED:    %s\n", f.Trigger)
	}
	if f.Fault != nil {
		p("FAULT:       %s", f.Fault.Reason)
		if f.Fault.Address != "" {
			p(" at %s", f.Fault.Address)
		}
		if f.Fault.Access != "" {
			p(", %s access in %s mode", f.Fault.Access, f.Fault.Mode)
		}
		if f.Fault.IP != "" {
			p(", RIP %s", f.Fault.IP)
		}
		p("\n")
	}
	if f.Location != nil {
		p("WHERE:       %s:%d", f.Location.File, f.Location.Line)
		if f.Location.Function != "" {
			p(" (%s)", f.Location.Function)
		}
		p("\n")
	}
	if o := f.OOM; o != nil {
		p("OOM:         %s invoked the OOM killer (gfp_mask=%s, order=%d)", o.Invoker, o.GFPMask, o.Order)
		if o.Constraint != "" {
			p(", constraint %s", o.Constraint)
		}
		if o.Victim != nil {
			p(", killed PID %d %q", o.Victim.PID, o.Victim.Comm)
		} else {
			p(", no task killed")
		}
		p("\n")
	}
	for _, h := range f.Hung {
		p("HUNG:        PID %d %q blocked for more than %d seconds\n", h.PID, h.Comm, h.Seconds)
	}
	if l := f.Lockup; l != nil {
		p("LOCKUP:      CPU %d", l.CPU)
		if l.Comm != "" {
			p(", PID %d %q", l.PID, l.Comm)
		}
		if l.Seconds > 0 {
			p(", stuck for %ds", l.Seconds)
		}
		p("\n")
	}
	switch r.Fingerprint.Source {
	case "none":
		if r.Failure.Kind == KindNone {
			p("FINGERPRINT: none (no failure)\n")
		} else {
			p("FINGERPRINT: not determined\n")
		}
	case "oom-report":
		p("FINGERPRINT: %s  %s (the constraint and the task holding the memory)\n", r.Fingerprint.ID, r.Fingerprint.Signature)
	case "message":
		p("FINGERPRINT: %s  %s (from the panic message: no trace)\n", r.Fingerprint.ID, r.Fingerprint.Signature)
	default:
		p("FINGERPRINT: %s  %s (from the %s)\n", r.Fingerprint.ID, r.Fingerprint.Signature, r.Fingerprint.Source)
	}
	p("KERNEL:      %s", orDash(r.Kernel.Release))
	if r.Kernel.Version != "" {
		p(" %s", r.Kernel.Version)
	}
	p("\n")
	if r.Kernel.BuildID != "" {
		p("BUILD ID:    %s\n", r.Kernel.BuildID)
	}
	switch r.Types.Source {
	case "vmlinux":
		p("TYPES:       %s\n", r.Types.Vmlinux)
	case "btf":
		p("TYPES:       the dump's own BTF and kallsyms\n")
	default:
		p("TYPES:       none: only what the dump's VMCOREINFO and log tell\n")
	}
	if r.UptimeSeconds != nil {
		u := *r.UptimeSeconds
		if u >= 86400 {
			p("UPTIME:      %d days, %02d:%02d:%02d\n", u/86400, u/3600%24, u/60%60, u%60)
		} else {
			p("UPTIME:      %02d:%02d:%02d\n", u/3600, u/60%60, u%60)
		}
	}
	if r.Date != nil {
		p("DATE:        %s\n", r.Date.UTC().Format(time.RFC3339))
	}
	if r.Taint != nil {
		if r.Taint.Mask == 0 {
			p("TAINT:       not tainted\n")
		} else {
			p("TAINT:       %s (%s)\n", r.Taint.Flags, strings.Join(r.Taint.Names, ", "))
		}
	}
	if r.Memory != nil {
		m := r.Memory
		p("MEMORY:      %s total, %s free (%.1f%%), %s cache (%.1f%%), %s slab (%.1f%%)",
			size(m.TotalBytes), size(m.FreeBytes), m.FreePercent, size(m.CachedBytes), m.CachePercent, size(m.SlabBytes), m.SlabPercent)
		if m.SwapBytes != nil && *m.SwapBytes > 0 {
			p(", swap %s of %s used", size(*m.SwapUsed), size(*m.SwapBytes))
		}
		p("\n")
	}
	if len(r.LargestTasks) > 0 {
		var s []string
		for _, t := range r.LargestTasks {
			s = append(s, fmt.Sprintf("%s (%d) %s", t.Comm, t.PID, size(t.RSSKiB*1024)))
		}
		p("LARGEST RSS: %s\n", strings.Join(s, ", "))
	}
	if r.Modules != nil && r.Unknown["modules"] == "" {
		p("MODULES:     %d", len(r.Modules))
		var flagged []string
		for _, m := range r.Modules {
			if m.OutOfTree || m.Unsigned || m.Proprietary {
				flagged = append(flagged, fmt.Sprintf("%s [%s]", m.Name, m.Taints))
			}
		}
		if len(flagged) > 0 {
			p(", flagged: %s", strings.Join(flagged, " "))
		}
		p("\n")
	}
	if r.Panic != nil {
		p("\nPANIC:       CPU %d, %s\n", r.Panic.CPU, taskName(r.Panic.Task))
		writeTrace(&b, r.Panic)
	}
	// Idle CPUs in one line (their traces are in the JSON form); the
	// busy ones with their traces.
	var idle []int
	for i := range r.CPUs {
		c := &r.CPUs[i]
		if c.Idle && c.Error == "" {
			idle = append(idle, c.CPU)
			continue
		}
		p("\nCPU %d:       %s\n", c.CPU, taskName(c.Task))
		writeTrace(&b, c)
	}
	if len(idle) > 0 {
		p("\nIDLE CPUS:   %s\n", cpuList(idle))
	}
	if r.BlockedTotal > 0 {
		p("\nBLOCKED (D state): %d task(s)", r.BlockedTotal)
		if r.BlockedTotal > len(r.Blocked) {
			p(", the first %d shown", len(r.Blocked))
		}
		p("\n")
		for i := range r.Blocked {
			c := &r.Blocked[i]
			p("%s\n", taskName(c.Task))
			writeTrace(&b, c)
		}
	}
	if len(r.LogTail) > 0 {
		p("\nLOG (last %d lines):\n", len(r.LogTail))
		for _, l := range r.LogTail {
			p("  %s\n", l)
		}
	}
	if len(r.Unknown) > 0 {
		p("\nNOT DETERMINED:\n")
		keys := make([]string, 0, len(r.Unknown))
		for k := range r.Unknown {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p("  %s: %s\n", k, r.Unknown[k])
		}
	}
	for _, w := range r.Warnings {
		p("WARNING: %s\n", w)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cpuList spells CPU numbers as ranges: "1, 3-5".
func cpuList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		} else {
			parts = append(parts, fmt.Sprint(cpus[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func taskName(t *TaskRef) string {
	if t == nil {
		return "task unknown"
	}
	s := fmt.Sprintf("PID %d %q", t.PID, t.Comm)
	if t.Task != 0 {
		s += fmt.Sprintf(" (task %x)", t.Task)
	}
	return s
}

// writeTrace writes a backtrace's frames as crash's bt lines.
func writeTrace(b *strings.Builder, c *Context) {
	if c.Backtrace != nil {
		writeFrames(b, c.Backtrace)
	}
	if c.Error != "" {
		fmt.Fprintf(b, "    (%s)\n", c.Error)
	}
}

func writeFrames(b *strings.Builder, bt *tasks.Backtrace) {
	for _, f := range bt.Frames {
		name := f.Function
		if name == "" {
			name = fmt.Sprintf("%x", uint64(f.PC))
		}
		if f.Module != "" {
			name += " [" + f.Module + "]"
		}
		fmt.Fprintf(b, "  #%-2d [%x] %s at %x\n", f.Level, uint64(f.Slot), name, uint64(f.PC))
		if f.Switch != nil && f.Switch.Marker != "" {
			fmt.Fprintf(b, "      %s\n", f.Switch.Marker)
		}
	}
}

func size(n uint64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	switch {
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	}
	return fmt.Sprintf("%d B", n)
}
