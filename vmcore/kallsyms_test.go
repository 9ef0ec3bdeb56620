package vmcore

import (
	"debug/elf"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/system"
)

func TestKallsymsUptimeArithmetic(t *testing.T) {
	// INITIAL_JIFFIES for HZ=250 is 2^32 - 75000; 11.6 s later the
	// counter is 2900 beyond it.
	const j = 1<<32 - 75000 + 2900
	if got := system.JiffiesSinceBoot(j, 250); got != 2900 {
		t.Errorf("JiffiesSinceBoot(HZ=250) = %d, want 2900", got)
	}
	// crash 8.0.6 on 6.12 assumes HZ=1000: (j - (2^32-300000)) / 1000 s,
	// the 00:03:47 it prints for that kernel.
	if got := system.JiffiesSinceBoot(j, 1000) / 1000; got != 227 {
		t.Errorf("uptime with HZ=1000 = %d s, want crash's 227", got)
	}
	// Past the 32-bit wrap (uptime > 300 s) the same formula holds.
	if got := system.JiffiesSinceBoot(1<<32+1000*250, 250) / 250; got != 1300 {
		t.Errorf("uptime past the wrap = %d s, want 1300", got)
	}
}

func TestKallsymsHZ(t *testing.T) {
	for _, c := range []struct {
		tick uint64
		hz   int
		ok   bool
	}{
		{4000000, 250, true},
		{4000123, 250, true}, // NTP-adjusted
		{3333333, 300, true},
		{1000000, 1000, true},
		{10000000, 100, true},
		{0, 0, false},
		{2000000, 0, false}, // HZ=500 is no CONFIG_HZ choice
	} {
		hz, ok := system.HZFromTick(c.tick)
		if ok != c.ok || ok && hz != c.hz {
			t.Errorf("HZFromTick(%d) = %d, %v; want %d, %v", c.tick, hz, ok, c.hz, c.ok)
		}
	}
	for _, c := range []struct {
		up float64 // seconds
		hz int
	}{{11.6, 250}, {11.6, 1000}, {21.6, 100}, {4000, 300}, {86400 * 3, 250}} {
		j := uint64(uint32(-300*int32(c.hz))) + uint64(c.up*float64(c.hz))
		// The last record a little before the crash.
		hz, ok := hzFromLogClock(j, time.Duration((c.up-0.3)*1e9))
		if !ok || hz != c.hz {
			t.Errorf("hzFromLogClock(up %v s, HZ %d) = %d, %v", c.up, c.hz, hz, ok)
		}
	}
	// A log clock far from every choice's uptime is refused.
	if hz, ok := hzFromLogClock(1<<32-75000+2900, 100*time.Second); ok {
		t.Errorf("hzFromLogClock accepted HZ %d for an uptime of 11.6 s against a log clock of 100 s", hz)
	}
}

// nmType is the letter GNU nm prints for an ELF symbol (bfd's
// decode_symclass for the cases a vmlinux has), which scripts/kallsyms
// takes from nm's output.
func nmType(f *elf.File, s elf.Symbol) byte {
	var c byte
	switch {
	case elf.ST_BIND(s.Info) == elf.STB_WEAK:
		if elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
			return 'V'
		}
		return 'W'
	case s.Section == elf.SHN_ABS:
		c = 'a'
	case s.Section == elf.SHN_UNDEF:
		return 'U'
	case int(s.Section) < len(f.Sections):
		sec := f.Sections[s.Section]
		switch {
		case sec.Flags&elf.SHF_EXECINSTR != 0:
			c = 't'
		case sec.Type == elf.SHT_NOBITS:
			c = 'b'
		case sec.Flags&elf.SHF_ALLOC == 0:
			c = 'n'
		case sec.Flags&elf.SHF_WRITE == 0:
			c = 'r'
		default:
			c = 'd'
		}
	default:
		c = '?'
	}
	if elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
		c -= 'a' - 'A'
	}
	return c
}

// vmlinuxSymbols is the ELF symbol table of a vmlinux, by name.
type vmlinuxSymbols struct {
	addrs       map[string][]uint64
	percpuStart uint64
	percpuEnd   uint64
	types       map[string]string // "name addr" -> nm's type letters
	count       int
}

var vmlinuxCache sync.Map // path -> *vmlinuxSymbols

func loadVmlinuxSymbols(t *testing.T, vmlinux string) *vmlinuxSymbols {
	if v, ok := vmlinuxCache.Load(vmlinux); ok {
		return v.(*vmlinuxSymbols)
	}
	f, err := elf.Open(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	v := &vmlinuxSymbols{addrs: map[string][]uint64{}, types: map[string]string{}, count: len(syms)}
	for _, s := range syms {
		v.addrs[s.Name] = append(v.addrs[s.Name], s.Value)
		v.types[s.Name+" "+hex16(s.Value)] += string(nmType(f, s))
		switch s.Name {
		case "__per_cpu_start":
			v.percpuStart = s.Value
		case "__per_cpu_end":
			v.percpuEnd = s.Value
		}
	}
	vmlinuxCache.Store(vmlinux, v)
	return v
}

// TestKallsymsLab decodes the kernel's symbol table from every lab dump
// that has VMCOREINFO and checks every symbol against the debuginfo
// vmlinux's ELF symbol table: same name at the same address after the KASLR
// shift (per-CPU symbols, absolute, unshifted), and the type letter nm
// gives in the kernel's System.map.
func TestKallsymsLab(t *testing.T) {
	l := lab.Open(t)
	for _, ld := range l.Dumps {
		t.Run(ld.Name, func(t *testing.T) {
			d, err := Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.VMCOREINFO(); err != nil {
				if !errors.Is(err, ErrNoVMCOREINFO) {
					t.Fatal(err)
				}
				if _, err := d.Kallsyms(); err == nil {
					t.Error("Kallsyms without VMCOREINFO did not fail")
				}
				t.Skipf("no VMCOREINFO: %v", err)
			}
			start := time.Now()
			tab, err := d.Kallsyms()
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			tr, _ := d.Translator()
			kaslr := tr.KernelOffset()
			vm := loadVmlinuxSymbols(t, ld.Vmlinux)
			matched, percpu, typesChecked := 0, 0, 0
			var bad []string
			for _, s := range tab.Symbols {
				ok := false
				for _, a := range vm.addrs[s.Name] {
					if a+kaslr == s.Addr {
						ok = true
					} else if a == s.Addr && tab.AbsolutePercpu && a >= vm.percpuStart && a <= vm.percpuEnd {
						ok = true
						percpu++
					}
					if ok {
						types := vm.types[s.Name+" "+hex16(a)]
						if a == s.Addr && a <= vm.percpuEnd {
							// scripts/kallsyms makes per-CPU symbols 'A'
							// with --absolute-percpu.
							types = "A"
						}
						typesChecked++
						if !strings.ContainsRune(types, rune(s.Type)) && len(bad) < 20 {
							bad = append(bad, s.Name+": type "+string(s.Type)+", nm's "+types)
						}
						break
					}
				}
				if ok {
					matched++
				} else if len(bad) < 20 {
					bad = append(bad, s.Name+" at "+hex16(s.Addr)+" not in the vmlinux there")
				}
			}
			for _, b := range bad {
				t.Error(b)
			}
			if matched != len(tab.Symbols) {
				t.Errorf("%d of %d symbols match the vmlinux", matched, len(tab.Symbols))
			}
			if typesChecked != matched {
				t.Errorf("the type of %d of %d matched symbols checked", typesChecked, matched)
			}
			// The variables dmesg -T and -caller read, through Lookup on
			// the whole table and through KernelSymbols (kallsyms.Find).
			// 7.x has no pid_max (it moved into the pid namespace),
			// tick_nsec or shadow_timekeeper (now in timekeeper_data),
			// 6.x no timekeeper_data: kallsyms must have those the
			// vmlinux has and lack the others.
			names := []string{"jiffies_64", "pid_max", "tick_nsec", "shadow_timekeeper", "timekeeper_data", "_stext"}
			found, err := d.KernelSymbols(names...)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range names {
				s, ok := tab.Lookup(name)
				if len(vm.addrs[name]) == 0 {
					if _, inFound := found.Lookup(name); ok || inFound {
						t.Errorf("%s: in kallsyms (%#x) but not in the vmlinux", name, s.Addr)
					}
					continue
				}
				if !ok || len(vm.addrs[name]) == 0 || s.Addr != vm.addrs[name][0]+kaslr {
					t.Errorf("Lookup(%s) = %#x, %v; vmlinux+KASLR %v", name, s.Addr, ok, vm.addrs[name])
				}
				if f, ok := found.Lookup(name); !ok || f != s {
					t.Errorf("KernelSymbols: %s = %+v, %v; Kallsyms: %+v", name, f, ok, s)
				}
			}
			t.Logf("%d symbols decoded in %v, all at the vmlinux's address + KASLR %#x (%d per-CPU, absolute), %d type letters equal to nm's; the vmlinux's ELF table has %d entries",
				len(tab.Symbols), took.Round(time.Millisecond), kaslr, percpu, typesChecked, vm.count)
		})
	}
}

func hex16(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}
