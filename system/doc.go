// Package system reads the summary of a crashed system that crash's sys
// shows: the CPUs (present and offline), the date of the dump, the uptime,
// the load average, the number of tasks, the kernel's uname fields, the
// processor speed, the memory size, the panic message from the kernel log,
// and the CPU and task that panicked; and the system call table that sys -c
// lists.
//
// Each part is a small function over a value.Context (the kernel's types
// over its memory, read by type and member name through ktype.Source):
// Uname, LoadAvg, Uptime, Clock, CPUKHz, PresentPages, CPUCounts,
// SysCallTable. PanicMessage finds the panic in the kernel log's records.
// Summarize puts them together from a Sources, and falls back, where the
// dump alone can tell, on what it records: VMCOREINFO's uname fields (read
// through UnameFromVMCOREINFO), the dump's CPU count, date and memory. A
// field that cannot be known is nil in the Summary, and Unknown says why.
package system
