// Package module reads the kernel modules loaded at the time of a dump:
// the module list (each struct module's name, address, memory regions,
// text base and core size, as crash's mod shows them) and each module's
// own symbol table, which the kernel keeps in memory (struct
// module.kallsyms: an Elf64_Sym array, its string table and a type letter
// per symbol), as crash reads it at start-up and marks the module
// [CONFIG_KALLSYMS].
//
// The functions read kernel structures through a value.Context, by type
// and member name only (ktype.Source): List walks the modules list,
// Symbols reads one module's table, and ParseSymtab is the parser of the
// raw table, for callers that hold its bytes.
//
// Every walk is bounded: a module list that loops, a symbol table of an
// absurd size or a name that runs off its string table gives an error
// naming the address, and the modules or symbols read before it.
package module
