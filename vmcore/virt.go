package vmcore

import (
	"errors"
	"fmt"
	"sync"

	"github.com/vmcoretools/vmcore/arch"
	_ "github.com/vmcoretools/vmcore/arch/all" // every architecture
	"github.com/vmcoretools/vmcore/printk"
)

// virt holds what kernel virtual reads need, made once per Dump.
type virt struct {
	once sync.Once
	tr   arch.KernelSpace
	err  error
}

// Translator returns the dump's kernel virtual memory, translated by the
// architecture of the dump's machine (arch.ForMachine) from VMCOREINFO alone
// on first use and shared by every caller after.
func (d *Dump) Translator() (arch.KernelSpace, error) {
	d.virt.once.Do(func() {
		info, err := d.VMCOREINFO()
		switch {
		case err != nil:
			d.virt.err = fmt.Errorf("kernel virtual addresses: %w", err)
		default:
			a, err := d.machineArch()
			if err != nil {
				d.virt.err = fmt.Errorf("kernel virtual addresses: %w", err)
				return
			}
			d.virt.tr, d.virt.err = a.KernelSpace(d.phys, info)
		}
	})
	return d.virt.tr, d.virt.err
}

// ReadVirt reads kernel virtual memory at addr, as io.ReaderAt does. A
// failure names the address and why: not mapped, or a physical page the
// dump lacks (errors.Is matches ErrExcluded and the other physical errors).
func (d *Dump) ReadVirt(p []byte, addr uint64) (int, error) {
	tr, err := d.Translator()
	if err != nil {
		return 0, err
	}
	return tr.ReadVirt(p, addr)
}

// KernelLog reads the kernel log (printk records) from the dump's memory,
// using VMCOREINFO alone: no vmlinux is needed. Records on pages the dump
// lacks come back with Missing set; damage to the ring ends the walk with a
// warning rather than an error. The log is read once per Dump; the records
// returned are shared, not to be modified.
func (d *Dump) KernelLog() ([]printk.Record, []printk.Warning, error) {
	d.klog.once.Do(func() { d.klog.recs, d.klog.warns, d.klog.err = d.readKernelLog() })
	return d.klog.recs, d.klog.warns, d.klog.err
}

// kernelLog is the log of a Dump, read once.
type kernelLog struct {
	once  sync.Once
	recs  []printk.Record
	warns []printk.Warning
	err   error
}

func (d *Dump) readKernelLog() ([]printk.Record, []printk.Warning, error) {
	info, err := d.VMCOREINFO()
	if errors.Is(err, ErrNoVMCOREINFO) {
		hint := "for a QEMU dump, start the guest with -device vmcoreinfo before dump-guest-memory, or take the dump with kdump"
		if d.Format() == FormatELF || d.Format() == FormatKdumpFlat || d.Format() == FormatKdump {
			hint += "; or give the vmlinux, from which and QEMU's saved registers it is derived: vmcore -c log VMLINUX DUMP"
		}
		return nil, nil, fmt.Errorf("the dump has no VMCOREINFO note, which the kernel log is found through (%s)", hint)
	}
	if err != nil {
		return nil, nil, err
	}
	tr, err := d.Translator()
	if err != nil {
		return nil, nil, err
	}
	layout, err := printk.LayoutFromVMCOREINFO(info)
	if err != nil {
		return nil, nil, err
	}
	return printk.Read(tr.ReaderAt(), layout)
}

// machineArch is the architecture of the dump's machine. A dump whose
// header does not say is tried as x86_64: the page-table walk checks
// itself.
func (d *Dump) machineArch() (arch.Arch, error) {
	m := d.Arch()
	if m == "" {
		m = "x86_64"
	}
	return arch.ForMachine(m)
}
