package vmcore

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/kallsyms"
	"github.com/vmcoretools/vmcore/kdumpfmt"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// Format names a dump's container format, as `vmcore info -json` prints it.
type Format string

const (
	FormatELF        Format = "elf"
	FormatKdump      Format = "kdump"
	FormatKdumpFlat  Format = "kdump-flat"
	FormatKdumpSplit Format = "kdump-split"
	FormatDiskdump   Format = "diskdump"
)

// Errors returned by physical reads, re-exported from physmem so that users
// of this package need not import it. Test with errors.Is.
var (
	ErrNotInDump = physmem.ErrNotInDump
	ErrExcluded  = physmem.ErrExcluded
	ErrLost      = physmem.ErrLost
	ErrBeyondEnd = physmem.ErrBeyondEnd
)

// ErrUnknownFormat is returned by Open for a file that is no dump this
// package reads.
var ErrUnknownFormat = errors.New("not a crash dump this tool reads")

// ErrNoVMCOREINFO is returned by VMCOREINFO for a dump that carries none,
// such as a QEMU dump taken without -device vmcoreinfo.
var ErrNoVMCOREINFO = errors.New("the dump has no VMCOREINFO note")

// Dump is an open crash dump. Its methods are safe for concurrent use.
type Dump struct {
	format Format
	phys   physmem.Reader
	elf    *elfcore.File
	kdump  *kdumpfmt.File
	// kdumpMachine is the machine of a kdump file: its header's, or
	// where that names none known (QEMU 11 writes "Unknown"), VMCOREINFO's.
	kdumpMachine string
	info         *vmcoreinfo.Info
	infoErr      error
	cpus         []CPU
	warnings     []string
	paths        []string
	virt         virt
	klog         kernelLog // KernelLog, read once

	derivedInfo bool // info came from DeriveVMCOREINFO
	logVars     logVars

	// The kernel's kallsyms table, decoded once (Kallsyms).
	ksymsOnce sync.Once
	ksyms     *kallsyms.Table
	ksymsErr  error
	// The tables' places where VMCOREINFO does not give them, found by
	// their contents once (kallsyms.Search).
	ksymsLocOnce sync.Once
	ksymsLoc     kallsyms.Locations
	ksymsLocErr  error
}

// CPU is the state one CPU saved at the crash: an NT_PRSTATUS note written
// by the crashing kernel, and, in QEMU dumps, QEMU's own register note.
type CPU struct {
	Index    int
	PRStatus *elfcore.PRStatus     // nil when the dump has no NT_PRSTATUS for this CPU
	QEMU     *elfcore.QEMUCPUState // nil unless QEMU wrote the dump
}

// PID is the pid of the task the CPU was running, from NT_PRSTATUS
// (0 for the idle task, -1 when unknown).
func (c CPU) PID() int {
	if c.PRStatus == nil {
		return -1
	}
	return int(c.PRStatus.Pid)
}

// Open opens a dump. Several paths name the files of one split set
// (makedumpfile --split), in any order.
func Open(paths ...string) (*Dump, error) {
	if len(paths) == 0 {
		return nil, errors.New("vmcore: no dump file given")
	}
	kinds := make([]string, len(paths))
	for i, p := range paths {
		k, err := sniffFile(p)
		if err != nil {
			return nil, err
		}
		kinds[i] = k
	}
	d := &Dump{paths: append([]string(nil), paths...)}
	switch {
	case len(paths) == 1 && kinds[0] == "elf":
		f, err := elfcore.Open(paths[0])
		if errors.Is(err, elfcore.ErrNotCore) {
			return nil, notADump(paths[0], err)
		}
		if err != nil {
			return nil, err // elfcore.Open names the file
		}
		d.elf, d.phys, d.format = f, f, FormatELF
	case allEqual(kinds, "kdump"):
		f, err := kdumpfmt.Open(paths...)
		if err != nil {
			return nil, err
		}
		d.kdump, d.phys, d.format = f, f, Format(f.Format())
	default:
		return nil, fmt.Errorf("vmcore: %s: several files open together only as the parts of one split kdump set (got %s)",
			strings.Join(paths, ", "), strings.Join(kinds, ", "))
	}
	if err := d.init(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func allEqual(s []string, v string) bool {
	for _, x := range s {
		if x != v {
			return false
		}
	}
	return true
}

// sniffFile tells an ELF core from a kdump-family file by content.
func sniffFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("vmcore: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("vmcore: %w", err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("vmcore: %s is a directory, not a dump file", path)
	}
	head := make([]byte, 64)
	n, err := io.ReadFull(f, head)
	head = head[:n]
	if n == 0 {
		if err == nil || err == io.EOF {
			return "", fmt.Errorf("vmcore: %s: empty file: %w", path, ErrUnknownFormat)
		}
		return "", fmt.Errorf("vmcore: %s: %w", path, err)
	}
	if bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		return "elf", nil
	}
	if _, ok := kdumpfmt.Sniff(f); ok {
		return "kdump", nil
	}
	return "", fmt.Errorf("vmcore: %s: %w (it starts with %q; expected an ELF core, a makedumpfile/kdump-compressed or a DISKDUMP file)",
		path, ErrUnknownFormat, printable(head[:min(len(head), 16)]))
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}

func (d *Dump) init() error {
	var raw []byte
	switch {
	case d.elf != nil:
		raw = d.elf.VMCOREINFO()
		d.warnings = append(d.warnings, d.elf.Warnings...)
		for _, r := range d.elf.Ranges() {
			if r.Kind == elfcore.RangeZero {
				d.warnings = append(d.warnings, "some segments are shorter in the file than in memory (p_filesz < p_memsz): "+
					"their tails read as zeros; in makedumpfile -E output these are pages excluded by the dump level, not real zeros")
				break
			}
		}
		prs, err := d.elf.PRStatus()
		if err != nil {
			d.warnings = append(d.warnings, "CPU registers: "+err.Error())
		}
		qs, err := d.elf.QEMUCPUStates()
		if err != nil {
			d.warnings = append(d.warnings, "QEMU CPU state: "+err.Error())
		}
		d.cpus = mergeCPUs(prs, qs)
	case d.kdump != nil:
		raw = d.kdump.VMCOREINFO()
		d.warnings = append(d.warnings, d.kdump.Warnings...)
		d.kdumpMachine = d.kdump.Header.Utsname.Machine
		if machineOf(d.kdumpMachine) == elf.EM_NONE {
			if m := machineFromVMCOREINFO(raw); m != "" {
				if d.kdumpMachine != "" {
					d.warnings = append(d.warnings, fmt.Sprintf("the kdump header names the machine %q; VMCOREINFO's entries say %s", d.kdumpMachine, m))
				}
				d.kdumpMachine = m
			}
		}
		if notes := d.kdump.Notes(); len(notes) > 0 {
			ns, err := elfcore.ParseNotes(notes, d.kdump.Header.ByteOrder)
			if err != nil {
				d.warnings = append(d.warnings, "notes: "+err.Error())
			}
			m := machineOf(d.kdumpMachine)
			var prs []elfcore.PRStatus
			var qs []elfcore.QEMUCPUState
			for _, n := range ns {
				switch {
				case n.Type == uint32(elf.NT_PRSTATUS) && (n.Name == "CORE" || n.Name == "LINUX"):
					pr, err := elfcore.DecodePRStatus(n.Desc, m, classOf(d.kdump.Header.Layout), d.kdump.Header.ByteOrder)
					if err != nil {
						d.warnings = append(d.warnings, "CPU registers: "+err.Error())
						continue
					}
					prs = append(prs, pr)
				case n.Name == "QEMU":
					q, err := elfcore.DecodeQEMUCPUState(n.Desc, d.kdump.Header.ByteOrder)
					if err == nil {
						qs = append(qs, q)
					}
				}
			}
			d.cpus = mergeCPUs(prs, qs)
		}
	}
	if len(raw) == 0 {
		d.infoErr = ErrNoVMCOREINFO
		d.warnings = append(d.warnings, "no VMCOREINFO: kernel views need a vmlinux (a QEMU dump needs -device vmcoreinfo in the guest)")
		return nil
	}
	info, err := vmcoreinfo.Parse(raw)
	if err != nil {
		d.infoErr = fmt.Errorf("VMCOREINFO note: %w", err)
		d.warnings = append(d.warnings, d.infoErr.Error())
		return nil
	}
	for _, bad := range info.Invalid() {
		d.warnings = append(d.warnings, "VMCOREINFO: "+bad+" (taken as absent)")
	}
	d.info = info
	return nil
}

func mergeCPUs(prs []elfcore.PRStatus, qs []elfcore.QEMUCPUState) []CPU {
	n := max(len(prs), len(qs))
	cpus := make([]CPU, n)
	for i := range cpus {
		cpus[i].Index = i
		if i < len(prs) {
			cpus[i].PRStatus = &prs[i]
		}
		if i < len(qs) {
			cpus[i].QEMU = &qs[i]
		}
	}
	return cpus
}

// machineFromVMCOREINFO tells the architecture from the entries only its
// kernels write: x86_64's SYMBOL(init_top_pgt) (arch/x86/kernel/
// machine_kexec_64.c), arm64's NUMBER(kimage_voffset). "" when neither.
func machineFromVMCOREINFO(raw []byte) string {
	has := func(key string) bool { // a line of raw starts with key
		return bytes.HasPrefix(raw, []byte(key)) || bytes.Contains(raw, []byte("\n"+key))
	}
	switch {
	case has("SYMBOL(init_top_pgt)="):
		return "x86_64"
	case has("NUMBER(kimage_voffset)="):
		return "aarch64"
	}
	return ""
}

func machineOf(uname string) elf.Machine {
	switch uname {
	case "x86_64":
		return elf.EM_X86_64
	case "i386", "i486", "i586", "i686":
		return elf.EM_386
	case "aarch64", "arm64":
		return elf.EM_AARCH64
	case "s390x":
		return elf.EM_S390
	case "ppc64", "ppc64le":
		return elf.EM_PPC64
	case "riscv64":
		return elf.EM_RISCV
	}
	if strings.HasPrefix(uname, "arm") {
		return elf.EM_ARM
	}
	return elf.EM_NONE
}

func classOf(l kdumpfmt.Layout) elf.Class {
	if l == kdumpfmt.Layout64 {
		return elf.ELFCLASS64
	}
	return elf.ELFCLASS32
}

// Close releases the dump's files.
func (d *Dump) Close() error {
	switch {
	case d.elf != nil:
		return d.elf.Close()
	case d.kdump != nil:
		return d.kdump.Close()
	}
	return nil
}

// Paths are the files the dump was opened from.
func (d *Dump) Paths() []string { return append([]string(nil), d.paths...) }

// Format is the dump's container format.
func (d *Dump) Format() Format { return d.format }

// ELF returns the underlying ELF core, or nil for other formats.
func (d *Dump) ELF() *elfcore.File { return d.elf }

// Kdump returns the underlying compressed dump, or nil for ELF dumps.
func (d *Dump) Kdump() *kdumpfmt.File { return d.kdump }

// ReadPhys reads physical memory at addr, as io.ReaderAt does. Missing
// memory yields an error matching ErrExcluded, ErrNotInDump, ErrLost or
// ErrBeyondEnd, with n counting the bytes read before it.
func (d *Dump) ReadPhys(p []byte, addr uint64) (int, error) {
	if addr > 1<<63-1 {
		return 0, &physmem.Error{Addr: addr, Kind: physmem.BeyondEnd}
	}
	return d.phys.ReadAt(p, int64(addr))
}

// Phys returns the dump's physical memory as an io.ReaderAt.
func (d *Dump) Phys() physmem.Reader { return d.phys }

// VMCOREINFO returns the parsed VMCOREINFO note, or an error wrapping
// ErrNoVMCOREINFO when the dump carries none.
func (d *Dump) VMCOREINFO() (*vmcoreinfo.Info, error) { return d.info, d.infoErr }

// Info returns the parsed VMCOREINFO note, or nil when there is none.
func (d *Dump) Info() *vmcoreinfo.Info { return d.info }

// Warnings lists what is wrong with the dump but does not stop reading it:
// incomplete or truncated files, missing VMCOREINFO, unreadable notes.
func (d *Dump) Warnings() []string { return append([]string(nil), d.warnings...) }

// CPUs returns the saved state of each CPU, in note order.
func (d *Dump) CPUs() []CPU { return append([]CPU(nil), d.cpus...) }

// NumCPUs is the number of CPUs of the crashed machine: the kdump header's
// count, else the number of CPU notes.
func (d *Dump) NumCPUs() int {
	if d.kdump != nil && d.kdump.Header.NrCPUs > 0 {
		return int(d.kdump.Header.NrCPUs)
	}
	return len(d.cpus)
}

// Arch is the crashed machine's architecture as uname -m says it
// ("x86_64", "aarch64", ...), or "" when unknown.
func (d *Dump) Arch() string {
	if d.kdump != nil && d.kdumpMachine != "" {
		return d.kdumpMachine
	}
	if d.elf != nil {
		switch d.elf.Machine {
		case elf.EM_X86_64:
			return "x86_64"
		case elf.EM_386:
			return "i386"
		case elf.EM_AARCH64:
			return "aarch64"
		case elf.EM_ARM:
			return "arm"
		case elf.EM_S390:
			return "s390x"
		case elf.EM_PPC64:
			return "ppc64"
		case elf.EM_RISCV:
			return "riscv64"
		}
	}
	return ""
}

// PageSize is the kernel's page size: VMCOREINFO's PAGESIZE, else the kdump
// block size, else 4096.
func (d *Dump) PageSize() int {
	if v, ok := d.info.PageSize(); ok && v > 0 && v <= 1<<20 {
		return int(v)
	}
	if d.kdump != nil {
		return d.kdump.PageSize()
	}
	return 4096
}

// Release is the crashed kernel's release (uname -r), from VMCOREINFO, else
// from the kdump header.
func (d *Dump) Release() string {
	if r := d.info.OSRelease(); r != "" {
		return r
	}
	if d.kdump != nil {
		return d.kdump.Header.Utsname.Release
	}
	return ""
}

// BuildID is the crashed kernel's GNU build ID in hex, or "" (VMCOREINFO
// carries it since Linux 5.9).
func (d *Dump) BuildID() string { return d.info.BuildID() }

// DumpLevel is makedumpfile's dump level (-d), or -1 when the format does not
// record it (ELF dumps).
func (d *Dump) DumpLevel() int {
	if d.kdump != nil {
		return int(d.kdump.SubHeader.DumpLevel)
	}
	return -1
}

// CrashTime is when the kernel crashed: VMCOREINFO's CRASHTIME, else the
// kdump header's timestamp. ok is false when neither is there.
func (d *Dump) CrashTime() (t time.Time, ok bool) {
	if t, ok := d.info.CrashTime(); ok {
		return t, true
	}
	if d.kdump != nil && d.kdump.Header.TimestampSec > 0 {
		return d.kdump.Header.Timestamp(), true
	}
	return time.Time{}, false
}

// Incomplete reports whether the dump's writer flagged it as incomplete.
func (d *Dump) Incomplete() bool {
	if d.kdump != nil {
		return d.kdump.Incomplete()
	}
	return d.elf != nil && d.elf.Incomplete()
}

// notADump says what an ELF file that is no core dump is: a kernel image
// (which goes with its dump, not instead of it) or another program.
func notADump(path string, err error) error {
	f, ferr := elf.Open(path)
	if ferr != nil {
		return fmt.Errorf("vmcore: %s is not a crash dump: %w", path, err)
	}
	defer f.Close()
	kind := "an ELF " + strings.TrimPrefix(f.Type.String(), "ET_") + " file"
	for _, name := range []string{".BTF", "__ksymtab", ".orc_unwind"} {
		if f.Section(name) != nil && f.Type == elf.ET_EXEC {
			return fmt.Errorf("vmcore: %s is a kernel image (vmlinux), not a crash dump; give it with its dump: vmcore VMLINUX DUMP", path)
		}
	}
	switch f.Type {
	case elf.ET_EXEC, elf.ET_DYN:
		kind = "a program or library (ELF " + strings.TrimPrefix(f.Type.String(), "ET_") + ")"
	case elf.ET_REL:
		kind = "an object file or kernel module (ELF REL)"
	}
	return fmt.Errorf("vmcore: %s is %s, not a crash dump (an ELF core or a makedumpfile file)", path, kind)
}
