// Package printk reads the kernel log (what dmesg prints) out of kernel
// memory, for every layout Linux has used, and formats it the way the usual
// tools do.
//
// Linux has kept its log in three layouts:
//
//   - up to 3.4, a plain ring of characters (log_buf, log_end), each line
//     starting with its "<N>" level;
//   - 3.5 to 5.9, variable-length records (struct printk_log, named
//     struct log in 3.5 to 3.10) between log_first_idx and log_next_idx,
//     with a zero-length record marking the wrap to the buffer's start and
//     an optional KEY=VALUE dictionary after the text;
//   - 5.10 and later, the lockless ring buffer prb: a descriptor ring, an
//     info array and a text data ring whose blocks may wrap.
//
// A Layout says where the log is and how its structures are laid out. It is
// a plain struct so that any source can fill it: LayoutFromVMCOREINFO fills
// it from the SYMBOL/SIZE/OFFSET lines of a dump's VMCOREINFO, which is all
// a dump without its vmlinux offers, and a DWARF reader can fill the same
// fields from the vmlinux's types.
//
// Read walks the log and returns Records. It reads through an io.ReaderAt
// over kernel virtual addresses and never trusts what it reads: a record on
// a page the dump lacks comes back with Missing set and the walk goes on; a
// ring whose ids, lengths or links make no sense ends the walk with a
// Warning, never a panic, a hang or a huge allocation.
//
// Formatter prints records in three styles from one record stream:
// kexec-tools vmcore-dmesg (which drgn and makedumpfile's timestamps and
// texts agree with), crash's log command with its -T, -t, -m, -c and -d
// variants, and JSON lines.
package printk
