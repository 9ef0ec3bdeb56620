// Package kallsyms decodes the kernel's own compressed symbol table (the
// kallsyms_* arrays that scripts/kallsyms.c builds into every vmlinux with
// CONFIG_KALLSYMS) from kernel memory, so that a crash dump names kernel
// variables such as jiffies_64 and pid_max without the debuginfo vmlinux.
//
// Since Linux 6.0 VMCOREINFO gives the tables' addresses (SYMBOL lines for
// kallsyms_names, kallsyms_num_syms, kallsyms_token_table,
// kallsyms_token_index, kallsyms_offsets and kallsyms_relative_base);
// LocationsFromVMCOREINFO reads them; Read decodes the whole table, and Find
// only the symbols named (one pass over the names, a few addresses read),
// through any io.ReaderAt over kernel virtual addresses. The package knows
// the tables' format and nothing of dump files or page tables.
//
// The format, as kernel/kallsyms.c reads it:
//
//   - kallsyms_names is a stream of entries, one per symbol in address
//     order: a length, then that many bytes, each an index into the token
//     table. The length is one byte, or from 6.1 on two bytes when the
//     first has its high bit set ("big" symbols: low 7 bits, then the next
//     byte shifted left by 7).
//   - kallsyms_token_index holds 256 16-bit offsets into
//     kallsyms_token_table, a run of NUL-terminated strings; a name is the
//     concatenation of its tokens' strings. The first character of the
//     expansion is the symbol's type letter (nm's), the rest its name. From
//     6.2 on the type is kept out of the compression (its token is the
//     letter alone); the expansion is the same either way.
//   - kallsyms_offsets holds one 32-bit value per symbol and
//     kallsyms_relative_base a pointer (relocated at boot, so it carries the
//     KASLR shift). Without CONFIG_KALLSYMS_ABSOLUTE_PERCPU an address is
//     relative_base + (u32)offset. With it (x86_64 SMP up to 6.14) a
//     non-negative offset is the absolute address of a per-CPU symbol and a
//     negative one means relative_base - 1 - offset.
//
// Which of the two address encodings the kernel used is not recorded in
// memory. Read tells them apart with an anchor, a symbol whose address is
// known (VMCOREINFO's SYMBOL(_stext)), or failing that by whether any offset
// is negative (never so without absolute per-CPU symbols).
//
// Everything read from memory is bounded (symbol count, name lengths, token
// table size) so that a damaged or hostile dump gets an error, not a panic
// or a huge allocation.
package kallsyms
