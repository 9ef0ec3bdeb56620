// Package unwind walks x86_64 kernel stacks in a dump: from a starting
// program counter and stack pointer to the frames of the callers, with
// the ORC tables the kernel itself unwinds with (the vmlinux's
// .orc_unwind_ip and .orc_unwind sections; distribution kernels are built
// without frame pointers), and frame pointers where ORC has no entry.
// ORC's REGS entries cross exception and interrupt frames (struct pt_regs
// saved by the entry code), which the walk reports with their registers.
//
// It knows no kernel structures beyond pt_regs: the caller says where to
// start (saved registers of an active CPU, or a sleeping task's switch
// frame) and names the frames with its symbols. Memory is read through an
// io.ReaderAt of kernel virtual addresses; an unreadable stack word ends
// the walk with an error naming the address, never a panic, and every
// walk is bounded in frames and must move up the stack.
package unwind
