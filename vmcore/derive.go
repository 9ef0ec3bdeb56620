package vmcore

import (
	"debug/dwarf"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// DeriveVMCOREINFO gives a dump that has no VMCOREINFO note (a QEMU
// dump-guest-memory taken without -device vmcoreinfo) the VMCOREINFO its
// kernel would have exported, found from the vmlinux and from the CPU
// registers QEMU saved, so that every kernel view works on it as crash's
// do. The steps are crash's (kaslr_helper.c) in outline:
//
//   - a CPU's CR3 roots the page tables; with page-table isolation a CPU
//     stopped in user mode holds the user copy, and the kernel's is the
//     page below it;
//   - the IDT, at the address in the CPU's IDTR, holds the entry point of
//     the divide-error handler; its distance from the vmlinux's
//     asm_exc_divide_error is the KASLR offset;
//   - _stext, translated through the page tables, gives phys_base.
//
// The printk symbols, sizes and offsets that VMCOREINFO would carry come
// from the vmlinux's symbol table and DWARF. The result is checked the way
// NewKernel checks a real one: linux_banner in memory must be the
// vmlinux's. The dump keeps the derived VMCOREINFO (Info returns it) and
// says so in Warnings. A dump that has VMCOREINFO is left alone.
func (d *Dump) DeriveVMCOREINFO(syms *dwarfsym.File) error {
	if d.info != nil {
		return nil
	}
	a, err := d.machineArch()
	if err != nil {
		return fmt.Errorf("vmcore: deriving VMCOREINFO: %w", err)
	}
	saved := syms.Relocation()
	syms.SetRelocation(0)
	defer syms.SetRelocation(saved)

	var reasons []string
	for _, c := range d.cpus {
		if c.QEMU == nil {
			continue
		}
		text, err := d.deriveFromCPU(a, c, syms)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("CPU %d: %v", c.Index, err))
			continue
		}
		info, err := vmcoreinfo.Parse(text)
		if err != nil {
			return fmt.Errorf("vmcore: derived VMCOREINFO does not parse: %w", err)
		}
		d.info, d.infoErr = info, nil
		d.virt = virt{}      // a translator made before (and failed) is made again
		d.klog = kernelLog{} // and the log read through it
		d.derivedInfo = true
		d.warnings = append(d.warnings, fmt.Sprintf("VMCOREINFO derived from the vmlinux and CPU %d's registers (the dump has none)", c.Index))
		return nil
	}
	if len(reasons) == 0 {
		return fmt.Errorf("vmcore: the dump has no VMCOREINFO and no CPU state with page-table and IDT registers (QEMU's) to derive it from: %w", ErrNoVMCOREINFO)
	}
	return fmt.Errorf("vmcore: the dump has no VMCOREINFO, and deriving it failed: %s: %w", strings.Join(reasons, "; "), ErrNoVMCOREINFO)
}

// DerivedVMCOREINFO reports whether Info was derived by DeriveVMCOREINFO
// rather than read from the dump.
func (d *Dump) DerivedVMCOREINFO() bool { return d.derivedInfo }

func (d *Dump) deriveFromCPU(a arch.Arch, c CPU, syms *dwarfsym.File) ([]byte, error) {
	l, err := a.LayoutFromCPU(d.phys, c.QEMU, func(name string) (uint64, bool) {
		s, ok := syms.Lookup(name)
		return s.Addr, ok
	})
	if err != nil {
		return nil, err
	}
	return synthesizeVMCOREINFO(syms, l)
}

// synthesizeVMCOREINFO writes the VMCOREINFO text the kernel would have: the
// layout of the kernel mapping, and the printk keys of whichever log the
// vmlinux has (kernel/printk/printk.c's log_buf_vmcoreinfo_setup).
func synthesizeVMCOREINFO(syms *dwarfsym.File, l *arch.Layout) ([]byte, error) {
	kaslr := l.KASLR
	var b strings.Builder
	rel, err := syms.Release()
	if err != nil {
		return nil, fmt.Errorf("the vmlinux's release: %w", err)
	}
	fmt.Fprintf(&b, "OSRELEASE=%s\nPAGESIZE=4096\n", rel)
	sym := func(name string) bool {
		s, ok := syms.Lookup(name)
		if ok {
			fmt.Fprintf(&b, "SYMBOL(%s)=%x\n", name, s.Addr+kaslr)
		}
		return ok
	}
	sym("_stext")
	// The architecture's lines: its page table, where the kernel was
	// loaded, its paging mode.
	for _, line := range l.VMCOREINFO {
		b.WriteString(line + "\n")
	}

	size := func(typ string) {
		if t, err := syms.Type("struct " + typ); err == nil {
			fmt.Fprintf(&b, "SIZE(%s)=%d\n", typ, t.Size())
		} else if t, err := syms.Type(typ); err == nil {
			fmt.Fprintf(&b, "SIZE(%s)=%d\n", typ, t.Size())
		}
	}
	offset := func(typ string, members ...string) {
		t, err := syms.Type("struct " + typ)
		if err != nil {
			t, err = syms.Type(typ)
		}
		if err != nil {
			return
		}
		st, ok := underlyingStruct(t)
		if !ok {
			return
		}
		for _, m := range members {
			for _, f := range st.Field {
				if f.Name == m {
					fmt.Fprintf(&b, "OFFSET(%s.%s)=%d\n", typ, m, f.ByteOffset)
				}
			}
		}
	}
	length := func(name, typ, member string) {
		t, err := syms.Type("struct " + typ)
		if err != nil {
			return
		}
		st, ok := underlyingStruct(t)
		if !ok {
			return
		}
		for _, f := range st.Field {
			if a, ok := f.Type.(*dwarf.ArrayType); ok && f.Name == member {
				fmt.Fprintf(&b, "LENGTH(%s)=%d\n", name, a.Count)
			}
		}
	}
	// What sys and the uname fields read (crash_save_vmcoreinfo_init).
	sym("init_uts_ns")
	offset("uts_namespace", "name")
	sym("node_online_map")
	sym("vmap_area_list")
	switch {
	case sym("prb"):
		sym("printk_rb_static")
		sym("clear_seq")
		size("printk_ringbuffer")
		offset("printk_ringbuffer", "desc_ring", "text_data_ring", "fail")
		size("prb_desc_ring")
		offset("prb_desc_ring", "count_bits", "descs", "infos", "head_id", "tail_id")
		size("prb_desc")
		offset("prb_desc", "state_var", "text_blk_lpos")
		size("prb_data_blk_lpos")
		offset("prb_data_blk_lpos", "begin", "next")
		size("printk_info")
		offset("printk_info", "seq", "ts_nsec", "text_len", "caller_id", "dev_info")
		size("dev_printk_info")
		offset("dev_printk_info", "subsystem", "device")
		length("printk_info_subsystem", "dev_printk_info", "subsystem")
		length("printk_info_device", "dev_printk_info", "device")
		size("prb_data_ring")
		offset("prb_data_ring", "size_bits", "data", "head_lpos", "tail_lpos")
		size("atomic_long_t")
		offset("atomic_long_t", "counter")
	case sym("log_first_idx"):
		sym("log_buf")
		sym("log_buf_len")
		sym("log_next_idx")
		sym("clear_idx")
		name := "printk_log"
		if _, err := syms.Type("struct printk_log"); err != nil {
			name = "log"
		}
		size(name)
		offset(name, "ts_nsec", "len", "text_len", "dict_len", "caller_id")
	case sym("log_end"):
		sym("log_buf")
		sym("log_buf_len")
		sym("logged_chars")
	}
	return []byte(b.String()), nil
}

// underlyingStruct strips typedefs down to a struct.
func underlyingStruct(t dwarf.Type) (*dwarf.StructType, bool) {
	for i := 0; i < 8; i++ {
		switch x := t.(type) {
		case *dwarf.StructType:
			return x, true
		case *dwarf.TypedefType:
			t = x.Type
		default:
			return nil, false
		}
	}
	return nil, false
}
