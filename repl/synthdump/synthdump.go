// Package synthdump writes a small synthetic x86_64 crash dump for the
// tests of the REPL and the vmcore command: page tables for the kernel
// image and the direct map, a utsname, a 3.5-5.9 style kernel log, a
// banner, a byte pattern and one excluded page, described by VMCOREINFO
// as a real kernel would. It exists so that the commands can be tested
// without the real-kernel lab; nothing in it is a real kernel's data.
package synthdump

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/vmcoretools/vmcore/kdumpfmt"
	"github.com/vmcoretools/vmcore/physmem"
)

// Where things are in the synthetic dump: 4 MiB of physical memory, the
// kernel image mapped at KernelMap (2 MiB pages) and all of it at
// DirectMap (a 1 GiB page).
const (
	KernelMap   = 0xffffffff80000000
	DirectMap   = 0xffff888000000000
	synthMem    = 4 << 20
	pgdPhys     = 0x100000
	utsPhys     = 0x110000
	logVarsPhys = 0x120000
	logBufPhys  = 0x130000
	bannerPhys  = 0x140000
	patternPhys = 0x200000
	ExcludedPFN = 0x300
	CrashTime   = 1795647308 // Wed Nov 25 22:55:08 UTC 2026
	// BuildID is the kernel's build ID in VMCOREINFO: a test vmlinux
	// linked with --build-id=0x<BuildID> matches the dump.
	BuildID = "0123456789abcdef0123456789abcdef01234567"
)

type synthRecord struct {
	tsNsec uint64
	text   string
	dict   string
}

var synthLog = []synthRecord{
	{0, "Linux version 6.1.0-test (builder@test) #1 SMP PREEMPT_DYNAMIC", ""},
	{1500, "Command line: console=ttyS0", ""},
	{2_000_123_456, "virtio_blk virtio1: [vda] 4194304 512-byte logical blocks", "SUBSYSTEM=virtio\x00DEVICE=+virtio:virtio1"},
	{5_900_000_000, "sysrq: Trigger a crash", ""},
	{6_217_574_000, "Kernel panic - not syncing: sysrq triggered crash", ""},
	{6_217_574_100, "CPU: 1 PID: 1 Comm: sh\nHardware name: QEMU \x01 Standard PC", ""},
}

// synthVMCOREINFO describes the synthetic kernel.
func synthVMCOREINFO() []byte {
	k := func(phys uint64) uint64 { return KernelMap + phys }
	return []byte(fmt.Sprintf(`OSRELEASE=6.1.0-test
BUILD-ID=%s
PAGESIZE=4096
SYMBOL(init_uts_ns)=%x
OFFSET(uts_namespace.name)=4
SYMBOL(init_top_pgt)=%x
SYMBOL(swapper_pg_dir)=%x
NUMBER(phys_base)=0
NUMBER(pgtable_l5_enabled)=0
KERNELOFFSET=0
SYMBOL(log_buf)=%x
SYMBOL(log_buf_len)=%x
SYMBOL(log_first_idx)=%x
SYMBOL(log_next_idx)=%x
SIZE(printk_log)=16
OFFSET(printk_log.ts_nsec)=0
OFFSET(printk_log.len)=8
OFFSET(printk_log.text_len)=10
OFFSET(printk_log.dict_len)=12
SYMBOL(linux_banner)=%x
CRASHTIME=%d
`, BuildID, k(utsPhys), k(pgdPhys), k(pgdPhys), k(logVarsPhys), k(logVarsPhys+8), k(logVarsPhys+16), k(logVarsPhys+24), k(bannerPhys), CrashTime))
}

// synthMemory builds the physical memory image.
func synthMemory() []byte {
	mem := make([]byte, synthMem)
	le := binary.LittleEndian
	const present, rw, huge = 1, 2, 0x80
	// PGD[511] -> PUD page; PUD[510] -> PMD page; PMD[0], PMD[1]: 2 MiB pages.
	le.PutUint64(mem[pgdPhys+511*8:], 0x101000|present|rw)
	le.PutUint64(mem[0x101000+510*8:], 0x102000|present|rw)
	le.PutUint64(mem[0x102000+0*8:], 0x000000|present|rw|huge)
	le.PutUint64(mem[0x102000+1*8:], 0x200000|present|rw|huge)
	// PGD[273] (0xffff888000000000) -> PUD page; PUD[0]: 1 GiB at 0.
	le.PutUint64(mem[pgdPhys+273*8:], 0x103000|present|rw)
	le.PutUint64(mem[0x103000:], 0|present|rw|huge)

	uts := []string{"Linux", "testhost", "6.1.0-test", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-1 (2026-11-16)", "x86_64", "(none)"}
	for i, s := range uts {
		copy(mem[utsPhys+4+i*65:], s)
	}

	// The 3.5-5.9 record buffer: 16-byte headers, records aligned to 4.
	idx := uint32(0)
	for _, r := range synthLog {
		n := (16 + len(r.text) + len(r.dict) + 3) &^ 3
		h := mem[logBufPhys+int(idx):]
		le.PutUint64(h[0:], r.tsNsec)
		le.PutUint16(h[8:], uint16(n))
		le.PutUint16(h[10:], uint16(len(r.text)))
		le.PutUint16(h[12:], uint16(len(r.dict)))
		h[15] = 6 << 5 // level 6 in the high three bits
		copy(h[16:], r.text)
		copy(h[16+len(r.text):], r.dict)
		idx += uint32(n)
	}
	le.PutUint64(mem[logVarsPhys:], KernelMap+logBufPhys)
	le.PutUint32(mem[logVarsPhys+8:], 4096)
	le.PutUint32(mem[logVarsPhys+16:], 0)
	le.PutUint32(mem[logVarsPhys+24:], idx)
	le.PutUint64(mem[logVarsPhys+32:], KernelMap+bannerPhys) // a pointer for rd -s

	copy(mem[bannerPhys:], "Linux version 6.1.0-test (builder@test) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC\n\x00")
	for i := 0; i < 0x1000; i++ {
		mem[patternPhys+i] = byte(i)
	}
	return mem
}

// Write writes the synthetic dump to path as an uncompressed
// makedumpfile kdump with dump level 31 (one page excluded).
func Write(path string) error { return WriteImage(path, nil) }

// Segment is bytes to place at a kernel image address (KernelMap and up),
// such as a test vmlinux's loadable segments.
type Segment struct {
	Vaddr uint64
	Data  []byte
}

// WriteImage writes the synthetic dump with segments copied into the
// kernel image mapping, so that a vmlinux linked at those addresses finds
// its data in the dump.
func WriteImage(path string, segments []Segment) error {
	mem := synthMemory()
	for _, seg := range segments {
		if seg.Vaddr < KernelMap || seg.Vaddr-KernelMap+uint64(len(seg.Data)) > synthMem {
			return fmt.Errorf("synthdump: segment at %#x (%d bytes) is outside the kernel image mapping", seg.Vaddr, len(seg.Data))
		}
		copy(mem[seg.Vaddr-KernelMap:], seg.Data)
	}
	info := synthVMCOREINFO()
	src := &kdumpfmt.Source{
		Utsname:      kdumpfmt.Utsname{Sysname: "Linux", Nodename: "testhost", Release: "6.1.0-test", Version: "#1", Machine: "x86_64"},
		TimestampSec: CrashTime,
		NrCPUs:       2,
		DumpLevel:    31,
		MaxPFN:       synthMem / 4096,
		PageSize:     4096,
		InRAM:        func(uint64) bool { return true },
		Dumpable:     func(pfn uint64) bool { return pfn != ExcludedPFN },
		ReadPage: func(pfn uint64, dst []byte) error {
			if pfn*4096 >= synthMem {
				return &physmem.Error{Addr: pfn * 4096, Kind: physmem.BeyondEnd}
			}
			copy(dst, mem[pfn*4096:])
			return nil
		},
		VMCOREINFO: info,
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := kdumpfmt.Write(f, src, kdumpfmt.WriteOptions{Compression: kdumpfmt.None}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
