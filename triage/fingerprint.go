package triage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Fingerprint is a stable signature of a failure: equal for the same bug
// on every format of one crash and across rebuilds of a kernel, different
// for different bugs.
//
// Signature is the kind, a colon, and up to FingerprintFrames function
// names of the failing path from the innermost, joined by " < " (a
// function in a module is followed by its module in brackets). The path is
// the call trace the kernel printed with its report (Source "log"), or,
// when the log holds none, the dump's backtrace of the failing task
// (Source "backtrace"). The frames are normalised:
//   - no addresses, offsets or sizes: names only;
//   - compiler clone suffixes removed (.isra.0, .constprop.0, .part.0,
//     .cold, .lto_priv.0, .llvm.NNN), which move between builds;
//   - unreliable entries (the "?" lines) dropped;
//   - from the top, the machinery that reports a failure rather than
//     causes it (dump_stack, panic, kdump's crash_kexec, the oops and trap
//     handlers, the scheduler's sleep functions of a blocked task, the page
//     allocator and OOM killer of an OOM) dropped up to the first other frame;
//   - the system call and kernel-thread entry frames (do_syscall_64,
//     entry_SYSCALL_64*, kthread, ret_from_fork*) dropped anywhere;
//   - for lockups and RCU stalls, the interrupt handling the detector ran
//     in (<IRQ>, <NMI>) dropped.
//
// An out-of-memory failure is different: the allocation that found memory
// exhausted is chance (a page fault, a slab refill, a huge page), so its
// signature is the constraint and the task holding the memory, the OOM
// killer's victim or else the largest resident set in its task dump
// ("oom: system-wide: java"), with Source "oom-report" and no frames.
//
// A failure whose path is unknown has the panic message as its signature,
// with numbers replaced by "N"; one with neither has no fingerprint (ID
// "", Source "none"), since it would equal every other such. ID is the kind, a dash, and the first 12
// hex digits of the SHA-256 of Signature.
type Fingerprint struct {
	ID        string   `json:"id"`
	Signature string   `json:"signature"`
	Frames    []string `json:"frames"`
	// Source says where the frames come from: "log", "backtrace",
	// "oom-report" (an OOM's constraint and memory holder), or "message"
	// when there are none.
	Source string `json:"source"`
}

// FingerprintFrames is how many frames a fingerprint keeps.
const FingerprintFrames = 5

// machinery are the functions that report a failure, dropped from the top
// of a path; machineryPrefix the same by prefix.
var machinery = map[string]bool{
	"dump_stack": true, "dump_stack_lvl": true, "__dump_stack": true, "show_stack": true,
	"show_trace_log_lvl": true, "panic": true, "vpanic": true, "nmi_panic": true,
	"__crash_kexec": true, "crash_kexec": true, "machine_kexec": true, "crash_save_cpu": true,
	"native_machine_crash_shutdown": true, "machine_crash_shutdown": true,
	"oops_end": true, "die": true, "__die": true, "__die_body": true, "die_addr": true,
	"do_trap": true, "do_error_trap": true, "handle_bug": true, "report_bug": true,
	"__report_bug": true, "__warn": true, "warn_slowpath_fmt": true, "check_panic_on_warn": true,
	"page_fault_oops": true, "kernelmode_fixup_or_oops": true, "no_context": true,
	"__bad_area_nosemaphore": true, "bad_area_nosemaphore": true,
	// a blocked task's sleep
	"__schedule": true, "schedule": true, "schedule_preempt_disabled": true,
	"schedule_timeout": true, "io_schedule": true, "io_schedule_timeout": true,
	"__switch_to": true, "__switch_to_asm": true, "context_switch": true,
	"preempt_schedule_common": true, "preempt_schedule": true,
	// the OOM killer and the allocator under it
	"dump_header": true, "oom_kill_process": true, "out_of_memory": true,
	"check_panic_on_oom": true, "alloc_anon_folio": true,
	// hung-task and lockup detectors
	"watchdog": true, "check_hung_uninterruptible_tasks": true, "watchdog_timer_fn": true,
}

var machineryPrefix = []string{
	"exc_", "asm_exc_", "__alloc_pages", "alloc_pages", "__folio_alloc", "folio_alloc",
	"vma_alloc_folio", "__alloc_frozen_pages", "alloc_frozen_pages", "__pfx_",
}

// entry are the frames dropped anywhere: how control got into the kernel.
var entry = map[string]bool{
	"do_syscall_64": true, "x64_sys_call": true, "kthread": true, "ret_from_fork": true,
	"ret_from_fork_asm": true, "entry_SYSCALL_64": true, "entry_SYSCALL_64_after_hwframe": true,
	"do_int80_syscall_32": true, "entry_INT80_compat": true, "do_fast_syscall_32": true,
	"entry_SYSENTER_compat_after_hwframe": true, "common_startup_64": true,
	"secondary_startup_64": true, "secondary_startup_64_no_verify": true, "start_secondary": true,
}

func isMachinery(name string) bool {
	if machinery[name] {
		return true
	}
	for _, p := range machineryPrefix {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

var reClone = lazy(`\.(?:isra|constprop|part|cold|lto_priv|llvm|localalias)(?:\.[0-9]+)?$`)

// frameName is a function name without its offset, size and clone
// suffixes: "sysrq_handle_crash+0x16/0x20" gives "sysrq_handle_crash".
func frameName(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	for {
		t := reClone.ReplaceAllString(s, "")
		if t == s {
			return s
		}
		s = t
	}
}

// Frame is one frame of a failing path as the fingerprint reads it.
type pathFrame struct {
	Name   string // without offset and clone suffixes
	Module string
	// Context is the section of the trace: "" for the task, "IRQ",
	// "NMI", "softirq".
	Context string
}

// reLogFrame matches a call-trace line of the kernel log: " name+0x1/0x2
// [module]", "? name+...", or the older "[<ffffffff81000000>] name+...".
var reLogFrame = lazy(`^\s*(?:\[<[0-9a-f]+>\]\s*)?(\? )?([A-Za-z0-9_.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[([^\]]+)\])?`)

// logTrace reads the call trace that starts at the first "Call Trace:"
// line at or after from (not past limit): its reliable frames, in order.
func logTrace(lines []string, from, limit int) ([]pathFrame, bool) {
	if limit > len(lines) {
		limit = len(lines)
	}
	i := from
	for ; i < limit; i++ {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "Call Trace:") {
			break
		}
	}
	if i >= limit {
		return nil, false
	}
	var out []pathFrame
	ctx := ""
	for i++; i < len(lines) && i < limit+200; i++ {
		l := strings.TrimSpace(lines[i])
		switch l {
		case "<TASK>":
			continue
		case "</TASK>":
			return out, true
		case "<IRQ>", "<NMI>", "<SOFTIRQ>":
			ctx = strings.Trim(l, "<>")
			continue
		case "</IRQ>", "</NMI>", "</SOFTIRQ>":
			ctx = ""
			continue
		}
		m := reLogFrame.FindStringSubmatch(lines[i])
		if m == nil {
			if isRegisterLine(l) {
				continue
			}
			return out, true
		}
		if m[1] != "" {
			continue // unreliable
		}
		out = append(out, pathFrame{Name: frameName(m[2]), Module: m[3], Context: ctx})
	}
	return out, true
}

// isRegisterLine says whether a line of a call trace is part of an
// exception's register dump (kept within a trace on x86).
func isRegisterLine(l string) bool {
	for _, p := range []string{"RIP:", "RSP:", "RAX:", "RDX:", "RBP:", "R10:", "R13:", "FS:", "CS:", "CR2:", "Code:", "DR0:", "DR3:", "PKRU:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

var reNumber = lazy(`(?:0x)?[0-9a-f]*[0-9][0-9a-f]*`)

// oomFingerprint is an OOM's fingerprint: its constraint and the task
// holding the memory.
func oomFingerprint(constraint, holder string) Fingerprint {
	fp := Fingerprint{Signature: fmt.Sprintf("%s: %s: %s", KindOOM, constraint, holder), Frames: []string{}, Source: "oom-report"}
	sum := sha256.Sum256([]byte(fp.Signature))
	fp.ID = string(KindOOM) + "-" + hex.EncodeToString(sum[:6])
	return fp
}

// makeFingerprint normalises a path into a fingerprint of kind.
func makeFingerprint(kind Kind, path []pathFrame, source, message string) Fingerprint {
	if kind == KindNone {
		return Fingerprint{ID: string(KindNone), Signature: string(KindNone), Source: "none", Frames: []string{}}
	}
	lockup := kind == KindSoftLockup || kind == KindHardLockup || kind == KindRCUStall
	frames := []string{}
	top := true
	for _, f := range path {
		if lockup && f.Context != "" || entry[f.Name] {
			continue
		}
		if top && isMachinery(f.Name) {
			continue
		}
		top = false
		s := f.Name
		if f.Module != "" {
			s += " [" + f.Module + "]"
		}
		frames = append(frames, s)
		if len(frames) == FingerprintFrames {
			break
		}
	}
	fp := Fingerprint{Frames: frames, Source: source}
	if len(frames) > 0 {
		fp.Signature = string(kind) + ": " + strings.Join(frames, " < ")
	} else if message == "" {
		// Nothing tells this failure from another: no fingerprint.
		return Fingerprint{Source: "none", Frames: []string{}}
	} else {
		fp.Source = "message"
		fp.Signature = string(kind) + ": " + reNumber.ReplaceAllString(message, "N")
	}
	sum := sha256.Sum256([]byte(fp.Signature))
	fp.ID = string(kind) + "-" + hex.EncodeToString(sum[:6])
	return fp
}
