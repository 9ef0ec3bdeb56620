// Package ktype is the boundary between the kernel views and where kernel
// types come from. A Source serves types, global variables and symbols by
// name; a debuginfo vmlinux's DWARF implements it today
// (dwarfsym.File.Source), the kernel's own BTF and kallsyms next. Types are
// debug/dwarf's Type values, the model both formats map onto.
//
// It also holds what works on any such type: member paths with anonymous
// structs and bitfields (FindMember, Offset), and C declarations as gdb
// prints them (Declare, WriteLayout).
package ktype
