package triage

import (
	"context"
	"errors"
	"fmt"
	"github.com/vmcoretools/vmcore/arch"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/vmcore"
)

// Report is what one dump says happened. Its JSON form is the record
// vmcore.triage/1 (cmd/vmcore/schema/triage.json).
type Report struct {
	// Format is the dump's format (vmcore.Format).
	Format string `json:"format"`
	// Kernel names the crashed kernel.
	Kernel Kernel `json:"kernel"`
	// Types says where the kernel's types and symbols came from.
	Types Types `json:"types"`
	// Failure is what happened, from the kernel log.
	Failure Failure `json:"failure"`
	// Fingerprint is the failure's stable signature.
	Fingerprint Fingerprint `json:"fingerprint"`
	// Panic is the CPU and task that panicked, with its backtrace.
	Panic *Context `json:"panic"`
	// CPUs are the other CPUs' current tasks and their backtraces.
	CPUs []Context `json:"cpus"`
	// Blocked are the tasks in uninterruptible sleep (D state) with
	// their backtraces, at most Options.MaxBlocked; BlockedTotal counts
	// them all.
	Blocked      []Context `json:"blocked"`
	BlockedTotal int       `json:"blocked_total"`
	// Taint is the kernel's taint flags.
	Taint *Taint `json:"taint"`
	// UptimeSeconds is the time since boot; Date when the dump was taken.
	UptimeSeconds *uint64    `json:"uptime_seconds"`
	Date          *time.Time `json:"date"`
	// Modules are the loaded modules; the flags mark the out-of-tree,
	// unsigned and proprietary ones.
	Modules []Module `json:"modules"`
	// Memory is the memory summary.
	Memory *Memory `json:"memory"`
	// LargestTasks are the thread groups with the largest resident sets.
	LargestTasks []TaskMemory `json:"largest_tasks"`
	// LogTail is the log's last lines, as dmesg prints them.
	LogTail []string `json:"log_tail"`
	// Unknown says, by JSON field name, what could not be determined and
	// why.
	Unknown map[string]string `json:"unknown,omitempty"`
	// Warnings say which parts are partial.
	Warnings []string `json:"warnings,omitempty"`
}

// Kernel names a kernel.
type Kernel struct {
	Release string `json:"release"`
	Version string `json:"version,omitempty"` // uts version ("#1 SMP PREEMPT_DYNAMIC Debian ...")
	BuildID string `json:"build_id,omitempty"`
	Machine string `json:"machine,omitempty"`
}

// Types says where the kernel's types and symbols came from: "vmlinux"
// (the debuginfo vmlinux at Vmlinux), "btf" (the dump's own BTF and
// kallsyms) or "none" (only what the dump's VMCOREINFO and log tell).
type Types struct {
	Source  string `json:"source"`
	Vmlinux string `json:"vmlinux,omitempty"`
}

// Context is a CPU's or a task's state: which task, and its backtrace.
type Context struct {
	CPU  int      `json:"cpu"`
	Task *TaskRef `json:"task"`
	// State is the task's state as crash's ps spells it (RU, UN, ...).
	State string `json:"state,omitempty"`
	// Idle is set for a CPU running its idle task.
	Idle      bool             `json:"idle,omitempty"`
	Backtrace *tasks.Backtrace `json:"backtrace,omitempty"`
	// Error says why there is no backtrace (or why it stops early).
	Error string `json:"error,omitempty"`
}

// Taint is the kernel's taint flags.
type Taint struct {
	Mask  uint64   `json:"mask"`
	Flags string   `json:"flags"` // the kernel's letters ("OE"), "" when untainted
	Names []string `json:"names"`
}

// Module is a loaded module and its taint flags.
type Module struct {
	Name        string `json:"name"`
	Taints      string `json:"taints,omitempty"` // the kernel's letters
	OutOfTree   bool   `json:"out_of_tree,omitempty"`
	Unsigned    bool   `json:"unsigned,omitempty"`
	Proprietary bool   `json:"proprietary,omitempty"`
}

// Memory is the memory summary, in bytes.
type Memory struct {
	TotalBytes   uint64  `json:"total_bytes"`
	FreeBytes    uint64  `json:"free_bytes"`
	CachedBytes  uint64  `json:"cached_bytes"`
	BufferBytes  uint64  `json:"buffer_bytes"`
	SlabBytes    uint64  `json:"slab_bytes"`
	SwapBytes    *uint64 `json:"swap_bytes,omitempty"`
	SwapUsed     *uint64 `json:"swap_used_bytes,omitempty"`
	CommitBytes  *uint64 `json:"committed_bytes,omitempty"`
	CommitLimit  *uint64 `json:"commit_limit_bytes,omitempty"`
	FreePercent  float64 `json:"free_percent"`
	SlabPercent  float64 `json:"slab_percent"`
	CachePercent float64 `json:"cache_percent"`
}

// TaskMemory is a thread group's resident set.
type TaskMemory struct {
	PID    int    `json:"pid"`
	Comm   string `json:"comm"`
	RSSKiB uint64 `json:"rss_kib"`
	VSZKiB uint64 `json:"vsz_kib"`
}

// taintNames are kernel/panic.c's taint_flags, by bit.
var taintNames = []string{
	"proprietary module", "forced module load", "unsafe SMP processors", "forced module unload",
	"machine check", "bad page", "user request", "died recently (oops or BUG)",
	"ACPI table overridden", "warning", "staging driver", "firmware workaround",
	"out-of-tree module", "unsigned module", "soft lockup", "live patched",
	"auxiliary", "struct randomization plugin", "test", "fwctl",
}

// Options tune a triage.
type Options struct {
	// Vmlinux is the debuginfo vmlinux to use. When it is not the dump's
	// kernel, it is not used: the report says so (Unknown["types"]) and
	// goes on as without it, since an answer from another kernel's
	// layouts would be wrong.
	Vmlinux string
	// NoVmlinux uses no vmlinux even if one can be found.
	NoVmlinux bool
	// Find says where to look for the dump's vmlinux by build ID when
	// Vmlinux is ""; nil looks nowhere (the report then comes from the
	// dump's own BTF and kallsyms, or from the dump alone).
	Find *vmcore.FindOptions
	// LogLines is how many of the log's last lines to keep (0: 20).
	LogLines int
	// MaxBlocked bounds how many D-state tasks get backtraces (0: 32).
	MaxBlocked int
	// MaxLargest is how many of the largest tasks to list (0: 5).
	MaxLargest int
}

// Open opens the dump made of paths and triages it. The error is non-nil
// only when the dump cannot be read at all; everything else that fails is
// named in the report.
func Open(ctx context.Context, paths []string, opt Options) (*Report, error) {
	d, err := vmcore.Open(paths...)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	unknown := map[string]string{}
	k, vmlinux := kernelFor(ctx, d, opt, unknown)
	if k != nil {
		defer k.Close()
	}
	r := Analyze(d, k, opt)
	if vmlinux != "" {
		r.Types.Vmlinux = vmlinux
	}
	for key, why := range unknown {
		if r.Unknown == nil {
			r.Unknown = map[string]string{}
		}
		if _, ok := r.Unknown[key]; !ok {
			r.Unknown[key] = why
		}
	}
	return r, nil
}

// kernelFor pairs the dump with its kernel's types: the given vmlinux,
// one found by build ID, or the dump's own BTF; nil when none of them.
func kernelFor(ctx context.Context, d *vmcore.Dump, opt Options, unknown map[string]string) (*vmcore.Kernel, string) {
	var why []string
	if !opt.NoVmlinux {
		vmlinux := opt.Vmlinux
		if vmlinux == "" && opt.Find != nil && (d.BuildID() != "" || d.Release() != "") {
			p, err := d.FindVmlinux(ctx, *opt.Find)
			if err != nil {
				// The first line names the kernel; the places tried
				// follow it.
				first, _, _ := strings.Cut(err.Error(), "\n")
				why = append(why, strings.TrimSuffix(strings.TrimPrefix(first, "vmcore: "), "; tried:"))
			}
			vmlinux = p
		}
		if vmlinux != "" {
			k, err := vmcore.OpenKernel(d, vmlinux, vmcore.KernelOptions{})
			if err == nil {
				return k, vmlinux
			}
			var me *vmcore.MismatchError
			if errors.As(err, &me) {
				why = append(why, fmt.Sprintf("%s is not this dump's kernel (%s), so it was not used", vmlinux, strings.Join(me.Reasons, "; ")))
			} else {
				why = append(why, fmt.Sprintf("%s: %v", vmlinux, err))
			}
		}
	}
	if d.HasOwnTypes() {
		k, err := vmcore.KernelFromDump(d)
		if err == nil {
			if len(why) > 0 {
				unknown["types"] = strings.Join(why, "; ") + "; the dump's own BTF and kallsyms were used"
			}
			return k, ""
		}
		why = append(why, "the dump's own BTF: "+err.Error())
	} else {
		why = append(why, "the dump carries no BTF of its kernel")
	}
	if opt.NoVmlinux {
		why = append([]string{"no vmlinux asked for"}, why...)
	} else if opt.Vmlinux == "" && opt.Find == nil {
		why = append([]string{"no vmlinux given"}, why...)
	}
	unknown["types"] = strings.Join(why, "; ")
	return nil, ""
}

// Analyze triages an open dump; k is its kernel model (nil when neither a
// vmlinux nor the dump's own BTF gives one: the report then holds what
// the dump alone tells, and Unknown says what is missing).
func Analyze(d *vmcore.Dump, k *vmcore.Kernel, opt Options) *Report {
	if opt.LogLines <= 0 {
		opt.LogLines = 20
	}
	if opt.MaxBlocked <= 0 {
		opt.MaxBlocked = 32
	}
	if opt.MaxLargest <= 0 {
		opt.MaxLargest = 5
	}
	r := &Report{
		Format:  string(d.Format()),
		Kernel:  Kernel{Release: d.Release(), BuildID: d.BuildID(), Machine: d.Arch()},
		Unknown: map[string]string{},
		CPUs:    []Context{},
		Blocked: []Context{},
		Modules: []Module{},
		LogTail: []string{},

		LargestTasks: []TaskMemory{},
	}
	r.Warnings = append(r.Warnings, d.Warnings()...)
	switch {
	case k == nil:
		r.Types.Source = "none"
	case k.Syms != nil:
		r.Types.Source = "vmlinux"
	default:
		r.Types.Source = "btf"
	}

	// The log: the failure, the fingerprint's path, the tail.
	recs, lw, lerr := d.KernelLog()
	for _, w := range lw {
		r.Warnings = append(r.Warnings, "kernel log: "+w.String())
	}
	var lines []string
	for _, rec := range recs {
		if rec.Missing || rec.WrapMarker {
			continue
		}
		lines = append(lines, rec.Text)
	}
	if lerr != nil {
		r.Unknown["log_tail"] = lerr.Error()
	}
	if len(lines) == 0 {
		why := "the dump holds no readable kernel log"
		if lerr != nil {
			why = "the kernel log: " + lerr.Error()
		}
		r.Unknown["failure"] = why
	}
	r.LogTail = tail(recs, opt.LogLines)
	r.Failure = Classify(lines)

	var sum *system.Summary
	if k != nil {
		sum = k.Summary()
	} else {
		sum = d.Summary()
	}
	if sum.Uname != nil {
		r.Kernel.Version = sum.Uname.Version
		if sum.Uname.Release != "" {
			r.Kernel.Release = sum.Uname.Release
		}
	}
	r.UptimeSeconds, r.Date = sum.UptimeSeconds, sum.Date
	if r.UptimeSeconds == nil {
		r.Unknown["uptime_seconds"] = orReason(sum.Unknown["uptime_seconds"], "not in the dump")
	}
	if r.Date == nil {
		r.Unknown["date"] = orReason(sum.Unknown["date"], "not in the dump")
	}
	if sum.Taint != nil {
		r.Taint = taint(*sum.Taint)
	} else {
		r.Unknown["taint"] = orReason(sum.Unknown["taint"], "needs the kernel's symbols")
	}
	if r.Failure.Kind == KindNone && sum.Panic.Message != "" {
		// The log's panic line is lost but the kernel's record says it
		// panicked.
		r.Failure.Kind, r.Failure.Message = KindUnknown, sum.Panic.Message
	}

	if k == nil {
		why := r.Unknown["types"]
		if why == "" {
			why = "neither a vmlinux nor the dump's own BTF gives the kernel's types"
		}
		for _, f := range []string{"panic", "cpus", "blocked", "modules", "memory", "largest_tasks"} {
			r.Unknown[f] = why
		}
		r.fingerprint(lines)
		return r
	}
	r.kernelViews(k, opt)
	r.fingerprint(lines)
	if len(r.Unknown) == 0 {
		r.Unknown = nil
	}
	return r
}

// taintBit is the taint flag the kernel prints as letter.
func taintBit(letter byte) uint64 {
	return 1 << strings.IndexByte(system.TaintLetters, letter)
}

func orReason(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func taint(mask uint64) *Taint {
	t := &Taint{Mask: mask, Flags: system.TaintFlags(mask), Names: []string{}}
	for i := 0; i < 64; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if i < len(taintNames) {
			t.Names = append(t.Names, taintNames[i])
		} else {
			t.Names = append(t.Names, fmt.Sprintf("bit %d", i))
		}
	}
	return t
}

// tail formats the last n readable records as dmesg does.
func tail(recs []printk.Record, n int) []string {
	var f printk.Formatter
	out := []string{}
	for i := len(recs) - 1; i >= 0 && len(out) < n; i-- {
		if rec := &recs[i]; !rec.Missing && !rec.WrapMarker {
			out = append(out, strings.TrimSuffix(string(f.Append(nil, rec)), "\n"))
		}
	}
	slices.Reverse(out)
	return out
}

// kernelViews fills what needs the kernel model.
func (r *Report) kernelViews(k *vmcore.Kernel, opt Options) {
	tb, err := k.Tasks()
	if err != nil {
		for _, f := range []string{"panic", "cpus", "blocked", "largest_tasks"} {
			r.Unknown[f] = "the task list: " + err.Error()
		}
	} else {
		for _, w := range tb.Warnings {
			r.Warnings = append(r.Warnings, "the task list is partial: "+w)
		}
		r.taskViews(k, tb, opt)
	}
	if mods, err := k.Modules(); err != nil {
		r.Unknown["modules"] = err.Error()
	} else {
		for _, m := range mods {
			mm := Module{Name: m.Name}
			if m.Taints != nil {
				t := *m.Taints
				mm.Taints = system.TaintFlags(t)
				mm.Proprietary, mm.OutOfTree, mm.Unsigned = t&taintBit('P') != 0, t&taintBit('O') != 0, t&taintBit('E') != 0
			}
			r.Modules = append(r.Modules, mm)
		}
		sort.Slice(r.Modules, func(i, j int) bool { return r.Modules[i].Name < r.Modules[j].Name })
	}
	if info, err := k.Memory().Info(); err != nil {
		r.Unknown["memory"] = err.Error()
	} else {
		ps := info.PageSize
		m := &Memory{TotalBytes: info.TotalPages * ps, FreeBytes: info.FreePages * ps,
			CachedBytes: info.CachedPages * ps, BufferBytes: info.BufferPages * ps, SlabBytes: info.SlabPages * ps}
		if info.Swap != nil {
			t, u := info.Swap.TotalPages*ps, info.Swap.UsedPages*ps
			m.SwapBytes, m.SwapUsed = &t, &u
		}
		if info.Commit != nil {
			c, l := uint64(max(info.Commit.CommittedPages, 0))*ps, info.Commit.LimitPages*ps
			m.CommitBytes, m.CommitLimit = &c, &l
		}
		if m.TotalBytes > 0 {
			pct := func(v uint64) float64 { return float64(int(float64(v)*1000/float64(m.TotalBytes)+0.5)) / 10 }
			m.FreePercent, m.SlabPercent, m.CachePercent = pct(m.FreeBytes), pct(m.SlabBytes), pct(m.CachedBytes)
		}
		r.Memory = m
		for _, w := range info.Warnings {
			r.Warnings = append(r.Warnings, "memory: "+w)
		}
	}
}

func (r *Report) taskViews(k *vmcore.Kernel, tb *tasks.Table, opt Options) {
	ref := func(t *tasks.Task) *TaskRef { return &TaskRef{PID: t.PID, Comm: t.Comm, Task: arch.Word(t.Addr)} }
	trace := func(c *Context, t *tasks.Task) {
		bt, err := k.Backtrace(t)
		if err != nil {
			c.Error = err.Error()
			return
		}
		c.Backtrace = bt
		if bt.Err != nil {
			c.Error = bt.Err.Error()
		}
	}
	state := func(t *tasks.Task) string {
		if st, err := k.Status(t); err == nil {
			return st.State
		}
		return ""
	}
	var panicTask uint64
	if pt, err := k.PanicTask(); err == nil && pt != nil {
		c := &Context{CPU: pt.CPU, Task: ref(pt), State: state(pt)}
		trace(c, pt)
		r.Panic, panicTask = c, pt.Addr
	} else if err != nil {
		r.Unknown["panic"] = err.Error()
	} else {
		r.Unknown["panic"] = "no CPU panicked (a dump of a running machine)"
	}
	for cpu, addr := range tb.Current {
		if addr == 0 || addr == panicTask {
			continue
		}
		t := tb.ByAddr(addr)
		if t == nil {
			r.CPUs = append(r.CPUs, Context{CPU: cpu, Error: fmt.Sprintf("its current task %#x is not in the task list", addr)})
			continue
		}
		c := Context{CPU: cpu, Task: ref(t), State: state(t), Idle: t.PID == 0}
		trace(&c, t)
		r.CPUs = append(r.CPUs, c)
	}
	var large []TaskMemory
	for _, t := range tb.Tasks {
		st, err := k.Status(t)
		if err != nil {
			continue
		}
		if st.State == "UN" {
			r.BlockedTotal++
			if len(r.Blocked) < opt.MaxBlocked {
				c := Context{CPU: t.CPU, Task: ref(t), State: st.State}
				trace(&c, t)
				r.Blocked = append(r.Blocked, c)
			}
		}
		if t.PID == t.TGID && st.RSS > 0 {
			large = append(large, TaskMemory{PID: t.PID, Comm: t.Comm, RSSKiB: st.RSS, VSZKiB: st.VSZ})
		}
	}
	sort.SliceStable(large, func(i, j int) bool { return large[i].RSSKiB > large[j].RSSKiB })
	if len(large) > opt.MaxLargest {
		large = large[:opt.MaxLargest]
	}
	r.LargestTasks = append([]TaskMemory{}, large...)
	if r.Failure.OOM != nil && r.Failure.OOM.Victim != nil {
		for _, t := range tb.Tasks {
			if t.PID == r.Failure.OOM.Victim.PID {
				r.Failure.OOM.Victim.Task = arch.Word(t.Addr)
				break
			}
		}
	}
}

// fingerprint computes r.Fingerprint: from the log's call trace of the
// failure, else from the dump's backtrace of the failing task.
func (r *Report) fingerprint(lines []string) {
	f := r.Failure
	if f.Kind == KindNone {
		r.Fingerprint = makeFingerprint(KindNone, nil, "", "")
		return
	}
	// An OOM: the allocation that found memory exhausted is chance (a
	// page fault, a slab refill, a huge page); what repeats is the
	// constraint and who holds the memory.
	if o := f.OOM; o != nil {
		holder := o.Largest
		if o.Victim != nil {
			holder = o.Victim
		}
		if holder != nil && o.Constraint != "" {
			r.Fingerprint = oomFingerprint(o.Constraint, holder.Comm)
			return
		}
	}
	if f.traceFrom >= 0 {
		if path, ok := logTrace(lines, f.traceFrom, f.traceEnd); ok && len(path) > 0 {
			r.Fingerprint = makeFingerprint(f.Kind, path, "log", f.Message)
			return
		}
	}
	// No trace in the log: the dump's backtrace of the failing task.
	var bt *tasks.Backtrace
	if f.Kind == KindHungTask && len(r.Blocked) > 0 {
		bt = r.Blocked[0].Backtrace
	} else if r.Panic != nil {
		bt = r.Panic.Backtrace
	}
	if bt != nil {
		var path []pathFrame
		for _, fr := range bt.Frames {
			if fr.Function == "" {
				continue
			}
			ctx := ""
			if fr.Stack != "" && fr.Stack != "task" {
				ctx = strings.Trim(fr.Stack, "<>")
			}
			path = append(path, pathFrame{Name: frameName(fr.Function), Module: fr.Module, Context: ctx})
		}
		r.Fingerprint = makeFingerprint(f.Kind, path, "backtrace", f.Message)
		return
	}
	r.Fingerprint = makeFingerprint(f.Kind, nil, "", f.Message)
	if r.Fingerprint.ID == "" {
		r.Unknown["fingerprint"] = "neither a call trace nor a panic message says what failed"
	}
}
