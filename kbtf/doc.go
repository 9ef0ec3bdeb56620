// Package kbtf serves a Linux kernel's BTF (BPF Type Format) as debug/dwarf
// types by name: the type information a kernel built with
// CONFIG_DEBUG_INFO_BTF carries in its own memory (the .BTF section, from
// __start_BTF to __stop_BTF) and each module's split BTF on top of it.
// With it the kernel views read structures from a dump without the
// debuginfo vmlinux.
//
// BTF is parsed by github.com/cilium/ebpf/btf, which decodes types on first
// use; this package converts the types asked for (and those they reach) to
// the debug/dwarf model that DWARF gives, with the same names, sizes,
// offsets and bitfield positions, so that ktype.FindMember, the value
// package and the C declarations print the same from either source.
//
// BTF describes types, functions and the per-CPU variables; most other
// global variables have no type in it (see Types.Var).
package kbtf
