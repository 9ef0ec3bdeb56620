// Package dwarfsym answers the questions a crash-dump tool asks of a
// debuginfo vmlinux: which symbol holds an address and where a symbol is
// (the ELF symbol table), how a C type is laid out (DWARF types: structs,
// unions, enums, typedefs, arrays, pointers, function pointers, bitfields),
// what type a global or per-CPU variable has, and which source line and
// inlined calls an address belongs to (DWARF line tables and inlined
// subroutines).
//
// A kernel's DWARF is large (160 MiB of .debug_info for a distribution
// 6.1 kernel) and a tool must be usable long before all of it has been read.
// So nothing is parsed up front beyond the ELF headers: the file is mapped
// rather than read (only the pages a question touches count), the symbol
// table is sorted by address on the first symbol question (and by name only
// after a few name lookups, which a scan answers sooner), and a name is
// resolved to a DWARF entry by scanning compilation units in order, only
// their top-level entries, skipping children through DW_AT_sibling, until a
// unit defines the name. Headers are shared by many
// units, so the common kernel types and the extern declarations of global
// variables turn up in the first units scanned. Units are scanned in
// parallel batches and each unit's name table is kept, so no unit is
// scanned twice. IndexAll scans the rest for callers that want every name.
//
// Types are decoded by the standard library's debug/dwarf, which reads
// DW_AT_data_bit_offset bitfields correctly. debug/dwarf parses every
// unit's abbreviations when it opens .debug_info, so each unit gets its own
// debug/dwarf view of just its bytes, made when first needed; a view's type
// cache is not safe for concurrent use, so every decode holds the view's
// mutex. All methods of File are safe for concurrent use, except Close.
//
// A name no unit defines costs a scan of every unit (a few seconds for a
// distribution kernel on two cores); so does IndexAll, which listings use.
package dwarfsym
