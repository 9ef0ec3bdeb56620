// Package amd64 translates x86_64 kernel virtual addresses to physical
// addresses using nothing but a dump's physical memory and its VMCOREINFO
// note, so that kernel data (the printk ring, task lists, stacks) can be read
// without the matching vmlinux.
//
// Three facts from VMCOREINFO are enough. NUMBER(phys_base) says where the
// kernel image was loaded in physical memory, which makes the kernel text
// mapping (__START_KERNEL_map, 0xffffffff80000000) a fixed offset; through it
// the top-level page table SYMBOL(init_top_pgt) (alias swapper_pg_dir) is
// found in physical memory. From there every kernel address is translated by
// walking the page tables as the MMU does: four levels, or five when
// NUMBER(pgtable_l5_enabled) is 1, with 1 GiB and 2 MiB leaf pages, and with
// the memory-encryption bit NUMBER(sme_mask) removed from each entry.
//
// The one address a reader also needs, the base of the direct map of all
// physical memory (page_offset_base), is randomised by KASLR and is not in
// VMCOREINFO. The translator finds it by scanning the kernel half of the page
// tables for the first 1 GiB-aligned address that maps physical address 0;
// see findPageOffset for why that is the direct map.
//
// This package is shared by every kernel view (dmesg, ps, bt, rd); it knows
// page tables and nothing of kernel data structures.
package amd64
