// Package triage says what happened in a crash dump, in one report per
// dump: the kind of failure (sysrq, oops, BUG, general protection fault,
// OOM panic, hung task, soft or hard lockup, RCU stall, machine check,
// panic on warning, or unknown with the panic message), the panicking CPU
// and task with its backtrace, every CPU's current task, the tasks in D
// state, taint, modules, memory, the last log lines, and a fingerprint: a
// short stable signature of the failure, equal for the same bug on every
// format of one crash and across rebuilds of a kernel.
//
// The report is built on the kernel model (package vmcore): with the
// dump's debuginfo vmlinux, or from the dump's own BTF and kallsyms, or,
// with neither, from what the dump alone holds (VMCOREINFO, the kernel
// log). Whatever could not be determined is named in Report.Unknown with
// the reason, never guessed.
//
// # Classification
//
// The kind comes from the kernel's own words in its log: the panic
// message ("Kernel panic - not syncing: ...") and the report that led to
// it ("sysrq: Trigger a crash", "BUG: unable to handle page fault",
// "kernel BUG at FILE:LINE!", "INFO: task X:PID blocked for more than N
// seconds.", "invoked oom-killer", "watchdog: BUG: soft lockup", ...).
// Classify does this on log lines alone; Analyze adds the dump's view.
//
// # Fingerprint
//
// The fingerprint is the kind and the normalised top frames of the
// failing path (Fingerprint documents the rules): frames from the call
// trace the kernel printed for the failure (the log is the same in every
// format of a dump), or from the dump's backtrace of the task when the
// log has none; without addresses or offsets, compiler clone suffixes
// (.isra.0, .constprop.0, .cold, ...), unreliable ("?") entries, and the
// panic, kdump, exception-entry, scheduler and allocator machinery above
// the first frame of the failing code itself. An OOM is fingerprinted by
// its constraint and the task holding the memory instead, since which
// allocation found memory exhausted is chance. Its ID is the kind and the
// first 12 hex digits of the signature's SHA-256: "sysrq-4f0c2a9e81d7".
package triage
