package vmcore

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/kbtf"
	"github.com/vmcoretools/vmcore/value"
)

// KernelOptions tune how a dump and a vmlinux are paired.
type KernelOptions struct {
	// IgnoreMismatch loads a vmlinux that the checks say is not the
	// crashed kernel; the reasons become warnings. Expect garbage.
	IgnoreMismatch bool
	// KASLROffset, when set, replaces the relocation derived from _stext
	// (crash's --kaslr=OFFSET).
	KASLROffset *uint64
}

// Kernel is a dump paired with the debuginfo vmlinux of the kernel that
// crashed: symbols relocated by the KASLR offset, kernel virtual memory,
// and typed reads. Its methods are safe for concurrent use.
type Kernel struct {
	Dump *Dump
	// Syms is the debuginfo vmlinux; nil for a kernel model made from
	// the dump alone (KernelFromDump), whose types and symbols come from
	// Source.
	Syms *dwarfsym.File
	// Source is the kernel's own BTF and kallsyms when there is no
	// vmlinux (nil with one).
	Source *kbtf.Source
	Virt   arch.KernelSpace
	Values *value.Context

	kaslr    uint64
	banner   string
	warnings []string
	ownSyms  bool
	ownDump  bool
	mismatch *MismatchError // the checks that failed, when forced

	model model // the task table and the stack tracer (backtrace.go)
}

// ErrMismatch matches every *MismatchError with errors.Is.
var ErrMismatch = errors.New("vmcore: vmlinux and dump do not match")

// MismatchError refuses a vmlinux that is not the crashed kernel's. It
// names what the dump ran and what the vmlinux is, every check that
// failed, and the ways out.
type MismatchError struct {
	Vmlinux, DumpFile           string
	VmlinuxRelease, DumpRelease string
	VmlinuxBuildID, DumpBuildID string
	Reasons                     []string
	// OwnTypes: the dump carries its kernel's BTF and kallsyms, from
	// which KernelFromDump builds the model without any vmlinux.
	OwnTypes bool
}

func (e *MismatchError) Error() string {
	kernel := func(rel string) string {
		if rel == "" {
			rel = "an unknown release"
		}
		return rel
	}
	msg := fmt.Sprintf("vmcore: %s and %s do not match: the dump ran %s, the vmlinux is %s: %s",
		orName(e.Vmlinux, "the vmlinux"), orName(e.DumpFile, "the dump"),
		kernel(e.DumpRelease), kernel(e.VmlinuxRelease), strings.Join(e.Reasons, "; "))
	var ways []string
	if e.DumpRelease != "" {
		ways = append(ways, "the debuginfo vmlinux of "+e.DumpRelease+" (Debian and Ubuntu: the package linux-image-"+e.DumpRelease+"-dbg)")
	}
	if e.DumpBuildID != "" {
		ways = append(ways, "its build ID's (debuginfod-find debuginfo "+e.DumpBuildID+")")
	}
	if e.OwnTypes {
		ways = append(ways, "no vmlinux at all: the dump carries its kernel's own BTF and kallsyms, which give every type and symbol")
	} else {
		ways = append(ways, "no vmlinux at all (the kernel log, memory reads, vtop and sys need none)")
	}
	return msg + "; use " + strings.Join(ways, ", or ")
}

func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

func orName(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// OpenKernel opens the vmlinux at path and pairs it with d (see NewKernel).
// Closing the Kernel closes the vmlinux, not the dump.
func OpenKernel(d *Dump, vmlinux string, opt KernelOptions) (*Kernel, error) {
	if vmlinux == "" {
		return KernelFromDump(d)
	}
	syms, err := dwarfsym.Open(vmlinux)
	if err != nil {
		return nil, err
	}
	k, err := NewKernel(d, syms, opt)
	if err != nil {
		syms.Close()
		return nil, err
	}
	k.ownSyms = true
	return k, nil
}

// NewKernel pairs a dump with an open vmlinux, checking first that they
// belong together, as crash does but more strictly:
//
//   - the KASLR offset is the distance between the vmlinux's _stext and
//     VMCOREINFO's SYMBOL(_stext), accepted only when page aligned, so that
//     a wrong vmlinux is not mistaken for a relocated one, and it must
//     agree with VMCOREINFO's KERNELOFFSET;
//   - VMCOREINFO's BUILD-ID must be the vmlinux's GNU build ID;
//   - VMCOREINFO's OSRELEASE must be the vmlinux's release;
//   - linux_banner read from the dump's memory must be the vmlinux's.
//
// Any failure refuses the pair with a *MismatchError unless
// opt.IgnoreMismatch is set. NewKernel sets syms' relocation, so one open
// vmlinux serves one dump at a time.
func NewKernel(d *Dump, syms *dwarfsym.File, opt KernelOptions) (*Kernel, error) {
	if d.Info() == nil {
		// A QEMU dump without -device vmcoreinfo: derive it from the
		// vmlinux and the saved CPU registers, as crash does.
		if err := d.DeriveVMCOREINFO(syms); err != nil {
			return nil, fmt.Errorf("vmcore: %s has no VMCOREINFO, which kernel views need to translate addresses, and it could not be derived: %w", strings.Join(d.Paths(), ", "), err)
		}
	}
	info := d.Info()
	if a := d.Arch(); a != "" {
		if _, err := arch.ForMachine(a); err != nil {
			return nil, fmt.Errorf("vmcore: kernel views of a %s dump: %w", a, err)
		}
	}
	k := &Kernel{Dump: d, Syms: syms}
	m := &MismatchError{Vmlinux: syms.Path(), DumpFile: strings.Join(d.Paths(), ", "), DumpRelease: d.Release()}
	syms.SetRelocation(0)
	vmRel, relErr := syms.Release()
	m.VmlinuxRelease = vmRel
	vmBanner, _ := syms.Banner()

	// KASLR, as crash's derive_kaslr_offset: relocation = SYMBOL(_stext)
	// of the running kernel - _stext of the vmlinux.
	if opt.KASLROffset != nil {
		k.kaslr = *opt.KASLROffset
	} else if dumpStext, ok := info.Symbol("_stext"); ok {
		s, ok := syms.Lookup("_stext")
		switch {
		case !ok:
			m.Reasons = append(m.Reasons, "the vmlinux has no _stext symbol")
		case (dumpStext-s.Addr)%0x1000 != 0:
			m.Reasons = append(m.Reasons, fmt.Sprintf("_stext is %#x in the vmlinux and %#x in the dump, not a page-aligned KASLR offset apart", s.Addr, dumpStext))
		default:
			k.kaslr = dumpStext - s.Addr
			if off, ok := info.KernelOffset(); ok && off != k.kaslr {
				m.Reasons = append(m.Reasons, fmt.Sprintf("_stext moved by %#x but KERNELOFFSET is %#x", k.kaslr, off))
			}
		}
	} else if off, ok := info.KernelOffset(); ok {
		k.kaslr = off
	}
	syms.SetRelocation(k.kaslr)

	if want := d.BuildID(); want != "" {
		got, err := syms.BuildID()
		m.DumpBuildID, m.VmlinuxBuildID = want, got
		switch {
		case err != nil:
			m.Reasons = append(m.Reasons, "the vmlinux's build ID: "+err.Error())
		case got == "":
			m.Reasons = append(m.Reasons, "the vmlinux has no build ID note, the dump's is "+want)
		case !strings.HasPrefix(got, want) && !strings.HasPrefix(want, got):
			m.Reasons = append(m.Reasons, fmt.Sprintf("build ID %s (dump) vs %s (vmlinux)", want, got))
		}
	}
	if relErr != nil {
		m.Reasons = append(m.Reasons, relErr.Error())
	} else if r := d.Release(); r != "" && r != vmRel {
		m.Reasons = append(m.Reasons, fmt.Sprintf("release %s (dump) vs %s (vmlinux)", r, vmRel))
	}

	t, err := d.Translator()
	if err != nil {
		if len(m.Reasons) > 0 && !opt.IgnoreMismatch {
			m.OwnTypes = d.HasOwnTypes()
			// The pair is wrong whatever the memory: say that first.
			syms.SetRelocation(0)
			return nil, m
		}
		return nil, fmt.Errorf("vmcore: kernel virtual memory: %w", err)
	}
	k.Virt = t
	k.Values = value.New(syms.Source(), t.ReaderAt())

	// linux_banner from memory, as crash's verify_version. When the
	// release or build ID already differ, the banner (read at an address
	// of the wrong kernel) adds nothing but noise to the refusal.
	s, ok := syms.Lookup("linux_banner")
	switch {
	case len(m.Reasons) > 0:
	case ok:
		buf := make([]byte, 512)
		n, err := t.ReadVirt(buf, s.Addr)
		buf = buf[:n]
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			buf = buf[:i]
			err = nil
		}
		k.banner = string(buf)
		switch {
		case err != nil && n == 0:
			m.Reasons = append(m.Reasons, fmt.Sprintf("linux_banner at %#x cannot be read from the dump: %v", s.Addr, err))
		case !strings.HasPrefix(k.banner, "Linux version "):
			m.Reasons = append(m.Reasons, fmt.Sprintf("linux_banner at %#x in the dump reads %q, not \"Linux version ...\"", s.Addr, shorten(k.banner, 40)))
		case vmBanner != "" && k.banner != vmBanner:
			m.Reasons = append(m.Reasons, fmt.Sprintf("linux_banner differs: %q (dump) vs %q (vmlinux)", shorten(strings.TrimSpace(k.banner), 100), shorten(strings.TrimSpace(vmBanner), 100)))
		}
	default:
		m.Reasons = append(m.Reasons, "the vmlinux has no linux_banner symbol")
	}

	if len(m.Reasons) > 0 {
		m.OwnTypes = d.HasOwnTypes()
		if !opt.IgnoreMismatch {
			syms.SetRelocation(0)
			return nil, m
		}
		k.warnings = append(k.warnings, "WARNING: "+m.Error())
		k.mismatch = m
	}
	return k, nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Close releases the kernel model (task table, tracer) and closes the
// vmlinux if OpenKernel opened it, and the dump if Load opened it;
// otherwise the dump stays open.
func (k *Kernel) Close() error {
	// The model (task table, tracer) goes first: a closed Kernel holds
	// nothing of the dump's.
	k.model = model{}
	var err error
	if k.ownSyms {
		err = k.Syms.Close()
		k.ownSyms = false
	}
	if k.ownDump {
		if e := k.Dump.Close(); err == nil {
			err = e
		}
		k.ownDump = false
	}
	return err
}

// KASLROffset is the distance the kernel image was moved at boot.
func (k *Kernel) KASLROffset() uint64 { return k.kaslr }

// Banner is linux_banner as read from the dump.
func (k *Kernel) Banner() string { return k.banner }

// Mismatch is why the vmlinux is not the dump's kernel when it was
// loaded all the same (KernelOptions.IgnoreMismatch), nil when every check
// passed. Whatever such a Kernel reads may be garbage.
func (k *Kernel) Mismatch() *MismatchError { return k.mismatch }

// Warnings are the mismatches accepted under IgnoreMismatch.
func (k *Kernel) Warnings() []string { return append([]string(nil), k.warnings...) }

// ReadVirt reads kernel virtual memory.
func (k *Kernel) ReadVirt(p []byte, addr uint64) (int, error) { return k.Virt.ReadVirt(p, addr) }

// Var returns a global variable; see value.Context.Var.
func (k *Kernel) Var(name string) (value.Value, error) { return k.Values.Var(name) }

// PerCPU returns CPU cpu's instance of a per-CPU variable.
func (k *Kernel) PerCPU(name string, cpu int) (value.Value, error) {
	return k.Values.PerCPU(name, cpu)
}

// At returns an object of the named type at addr.
func (k *Kernel) At(typ string, addr uint64) (value.Value, error) { return k.Values.At(typ, addr) }

// SymbolAt names the symbol holding a kernel address; see dwarfsym.
func (k *Kernel) SymbolAt(addr uint64) (dwarfsym.Symbol, uint64, bool) {
	if k.Syms == nil {
		s, off, ok := k.Values.Types.SymbolAt(addr)
		return symbolOfSource(s), off, ok
	}
	return k.Syms.SymbolAt(addr)
}

// Lookup returns a symbol by name, relocated.
func (k *Kernel) Lookup(name string) (dwarfsym.Symbol, bool) {
	if k.Syms == nil {
		s, ok := k.Values.Types.Lookup(name)
		return symbolOfSource(s), ok
	}
	return k.Syms.Lookup(name)
}
