// Package tasks reads the kernel's processes out of a dump: every task and
// thread (init_task's list and each thread group), each CPU's current task,
// and what ps shows of them (state letters as crash prints them, memory
// counters, parent, CPU, command); and each task's stack trace as a value
// (Backtrace: frames named with their module and source line, their stack
// words, the stacks they are on and the switches between them, exception
// frames with their registers by name, and where the trace started),
// made by a Tracer over the architecture's unwinder (arch.Tracer), which
// knows where a trace starts: a sleeping task from the frame it switched
// out with, a task running at the crash from the marks the crash path
// leaves on its stack, as crash finds them, or from the registers the
// dump saved.
// It also reads what ps's other views need: each thread group's resource
// limits (Rlimits), and a process's own user memory (UserMemory, Args):
// the dump is not in that process's context, so its user pages are found
// by walking its page tables (mm->pgd) and read through the kernel's
// direct map, page by page, and a page the dump lacks (makedumpfile
// levels with bit 8, user data, such as -d 31) is reported with its
// address.
//
// The views of one task are values with JSON tags, read through the
// vmlinux's types: Table.Status (everything ps and its options show:
// state letters and name, %MEM, VSZ and RSS in KiB, saved stack pointer,
// policy and priority, start, user, system and run times, last run),
// Table.Family (parents, thread group, children), ResourceLimits and
// CommandLine (ps -r and -a), Files (root, cwd and open descriptors with
// paths across mount points, DentryPath), Signals (dispositions, blocked
// and pending sets, the task's and its thread group's queues) and
// Table.AddressSpace (the mm, its page directory and every mapping with
// its file's path). Each returns what it read before an unreadable
// structure, with an error naming the address.
//
// It works on typed reads (package value) of a vmlinux's types, so it
// follows the layout of whatever kernel the dump holds; it reads each
// task_struct in one piece and decodes fields at offsets found once, which
// keeps a whole-table walk to one read per task. Lists are walked with a
// bound and cycle detection, and a task that cannot be read is reported
// and skipped, never a panic. Unwinding itself is the architecture's
// (package arch; arch/amd64 for x86_64).
package tasks
