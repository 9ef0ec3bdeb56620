package system

import (
	"fmt"
	"iter"
	"math"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

// maxNodes bounds the memory nodes read (MAX_NUMNODES is at most 1024).
const maxNodes = 1024

// CPUCounts counts the CPUs present (cpu_present_mask) and online
// (cpu_online_mask), as crash's get_cpus_present and get_cpus_online do.
func CPUCounts(c *value.Context) (present, online int, err error) {
	for _, cpu := range []struct {
		n    *int
		mask func(*value.Context) iter.Seq2[int, error]
	}{{&present, walk.PresentCPUs}, {&online, walk.OnlineCPUs}} {
		for _, err := range cpu.mask(c) {
			if err != nil {
				return 0, 0, err
			}
			*cpu.n++
		}
	}
	return present, online, nil
}

// TimekeeperCore is the kernel's core timekeeper: tk_core up to 6.x, the
// first of the timekeeper_data array (TIMEKEEPER_CORE) since the auxiliary
// clocks came (7.x). Both hold it as member timekeeper.
func TimekeeperCore(c *value.Context) (value.Value, error) {
	tk, err := c.Var("tk_core")
	if err == nil {
		return tk, nil
	}
	all, err2 := c.Var("timekeeper_data")
	if err2 != nil {
		return value.Value{}, err
	}
	return all.Index(0)
}

// timekeeper reads a member of the core timekeeper (TimekeeperCore).
func timekeeper(c *value.Context, member string) (uint64, error) {
	tk, err := TimekeeperCore(c)
	if err != nil {
		return 0, err
	}
	v, err := tk.Member("timekeeper." + member)
	if err != nil {
		return 0, err
	}
	return v.Uint()
}

// Uptime is the time since boot in whole seconds as crash's UPTIME counts
// it: jiffies_64 less INITIAL_JIFFIES, over HZ. HZ is known from tick_nsec
// where the kernel has it (up to 6.x), else fitted to the monotonic clock
// (the core timekeeper's ktime_sec; HZFromClock). That clock started at
// another instant than jiffies and can be a second apart from this at a
// rounding edge; it stands in only when jiffies or HZ cannot be read.
func Uptime(c *value.Context) (uint64, error) {
	j, jerr := readUint(c, "jiffies_64")
	mono, merr := timekeeper(c, "ktime_sec")
	if jerr == nil {
		if tick, err := readUint(c, "tick_nsec"); err == nil {
			if hz, ok := HZFromTick(tick); ok {
				return JiffiesSinceBoot(j, hz) / uint64(hz), nil
			}
		} else if merr == nil {
			if hz, ok := HZFromClock(j, float64(mono)); ok {
				return JiffiesSinceBoot(j, hz) / uint64(hz), nil
			}
		}
	}
	return mono, merr
}

// HZFromClock is the CONFIG_HZ choice under which jiffies j come to the
// uptime seconds of another clock, accepted within max(2 s, 5%). A wrong
// choice is minutes off, as jiffies start 300 seconds' worth of ticks
// before their 32-bit wrap (INITIAL_JIFFIES), except near 300 s of uptime,
// where every choice gives nearly the same uptime.
func HZFromClock(j uint64, seconds float64) (int, bool) {
	if seconds <= 0 {
		return 0, false
	}
	best, bestErr := 0, math.Inf(1)
	for _, hz := range HZChoices {
		up := float64(JiffiesSinceBoot(j, hz)) / float64(hz)
		if e := math.Abs(up - seconds); e < bestErr {
			best, bestErr = hz, e
		}
	}
	return best, bestErr <= max(2, 0.05*seconds)
}

func readUint(c *value.Context, name string) (uint64, error) {
	v, err := c.Var(name)
	if err != nil {
		return 0, err
	}
	return v.Uint()
}

// HZChoices are the values kernel/Kconfig.hz offers for CONFIG_HZ.
var HZChoices = []int{100, 250, 300, 1000}

// JiffiesSinceBoot is jiffies_64 less INITIAL_JIFFIES (the kernel starts
// jiffies 300 seconds before their 32-bit wrap) on a 64-bit kernel: the
// value crash's get_uptime computes (its two branches, with and without a
// wrap of the low 32 bits, both come to this).
func JiffiesSinceBoot(j uint64, hz int) uint64 {
	return j - uint64(uint32(-300*int32(hz)))
}

// HZFromTick is the CONFIG_HZ choice whose tick period is nearest to
// tick_nsec, accepted within 5%.
func HZFromTick(tickNsec uint64) (int, bool) {
	best, bestErr := 0, math.Inf(1)
	for _, hz := range HZChoices {
		period := 1e9 / float64(hz)
		if e := math.Abs(float64(tickNsec)-period) / period; e < bestErr {
			best, bestErr = hz, e
		}
	}
	return best, bestErr <= 0.05
}

// Clock is the kernel's wall clock in whole seconds
// (tk_core.timekeeper.xtime_sec), as crash's get_xtime: the date of a dump
// that does not record one (a dump of a live system, a QEMU dump).
func Clock(c *value.Context) (time.Time, error) {
	sec, err := timekeeper(c, "xtime_sec")
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(sec), 0), nil
}

// LoadAverage is avenrun[]: the 1, 5 and 15 minute load averages in the
// kernel's fixed point (FSHIFT, 11 fraction bits).
type LoadAverage struct {
	Avenrun [3]uint64 `json:"avenrun"`
}

// Fixed-point load averages (include/linux/sched/loadavg.h).
const (
	fshift = 11
	fixed1 = 1 << fshift
)

// Loads returns the three averages as numbers.
func (l LoadAverage) Loads() [3]float64 {
	var out [3]float64
	for i, a := range l.Avenrun {
		out[i] = float64(a) / fixed1
	}
	return out
}

// String formats the averages as the kernel's /proc/loadavg and crash
// do: "0.08, 0.02, 0.01", rounded by FIXED_1/200.
func (l LoadAverage) String() string {
	parts := make([]string, 3)
	for i, a := range l.Avenrun {
		a += fixed1 / 200
		parts[i] = fmt.Sprintf("%d.%02d", a>>fshift, ((a&(fixed1-1))*100)>>fshift)
	}
	return strings.Join(parts, ", ")
}

// LoadAvg reads avenrun[].
func LoadAvg(c *value.Context) (LoadAverage, error) {
	v, err := c.Var("avenrun")
	if err != nil {
		return LoadAverage{}, err
	}
	var l LoadAverage
	for i := range l.Avenrun {
		e, err := v.Index(i)
		if err != nil {
			return LoadAverage{}, err
		}
		if l.Avenrun[i], err = e.Uint(); err != nil {
			return LoadAverage{}, err
		}
	}
	return l, nil
}

// CPUKHz reads cpu_khz, the processor speed x86 kernels measure (crash's
// x86_64 MHz is it divided by 1000).
func CPUKHz(c *value.Context) (uint64, error) {
	v, err := c.Var("cpu_khz")
	if err != nil {
		return 0, err
	}
	return v.Uint()
}

// PresentPages sums node_present_pages over the memory nodes (node_data[],
// or contig_page_data without NUMA), as crash counts memory.
func PresentPages(c *value.Context) (uint64, error) {
	nodes, err := c.Var("node_data")
	if err != nil {
		contig, cerr := c.Var("contig_page_data")
		if cerr != nil {
			return 0, fmt.Errorf("system: no memory nodes: %w", err)
		}
		n, err := contig.Member("node_present_pages")
		if err != nil {
			return 0, err
		}
		v, err := n.Uint()
		if err == nil && v == 0 {
			err = fmt.Errorf("system: contig_page_data at %#x has no pages", contig.Addr)
		}
		return v, err
	}
	var total uint64
	for i := 0; i < maxNodes; i++ {
		p, err := nodes.Index(i)
		if err != nil {
			break // past the end of node_data[MAX_NUMNODES]
		}
		if addr, err := p.Uint(); err != nil || addr == 0 {
			continue
		}
		n, err := p.Member("node_present_pages")
		if err != nil {
			return 0, err
		}
		v, err := n.Uint()
		if err != nil {
			return 0, err
		}
		total += v
	}
	if total == 0 {
		return 0, fmt.Errorf("system: node_data at %#x: no node has pages", nodes.Addr)
	}
	return total, nil
}

// panicMessages are the strings crash looks for in the log, in its order
// of severity (task.c panic_msg[]).
var panicMessages = []string{
	"SysRq : Crash",
	"SysRq : Trigger a crash",
	"SysRq : Netdump",
	"Kernel panic: ",
	"Kernel panic - ",
	"Kernel BUG at",
	"kernel BUG at",
	"Unable to handle kernel paging request",
	"Unable to handle kernel NULL pointer dereference",
	"BUG: unable to handle kernel ",
	"general protection fault: ",
	"double fault: ",
	"divide error: ",
	"stack segment: ",
	"[Hardware Error]: ",
	"Bad mode in ",
	"Oops: ",
}

// PanicMessage is the first log line holding the most severe of the
// messages crash looks for, or "" when none is found.
func PanicMessage(recs []printk.Record) string {
	for _, pm := range panicMessages {
		for _, r := range recs {
			if r.Missing {
				continue
			}
			for line := range strings.SplitSeq(r.Text, "\n") {
				if strings.Contains(line, pm) {
					return line
				}
			}
		}
	}
	return ""
}

// TaintMask is the kernel's taint flags: tainted_mask, or the int tainted
// of kernels before 2.6.29, as crash's is_kernel_tainted reads them. Bit n
// is the flag TaintLetters[n].
func TaintMask(c *value.Context) (uint64, error) {
	v, err := c.Var("tainted_mask")
	if err != nil {
		v2, err2 := c.Var("tainted")
		if err2 != nil {
			return 0, err
		}
		v = v2
	}
	return v.Uint()
}

// TaintLetters are the letters the kernel prints for its taint flags
// (kernel/panic.c's taint_flags), by bit.
const TaintLetters = "PFSRMBUDAWCIOELKXTNJ"

// TaintFlags spells a taint mask as the kernel's "Tainted:" line does
// its set flags: one letter per set bit, in bit order ("OE" for an
// out-of-tree, unsigned module); bits past the known ones are written
// as "?".
func TaintFlags(mask uint64) string {
	var b []byte
	for i := 0; i < 64; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if i < len(TaintLetters) {
			b = append(b, TaintLetters[i])
		} else {
			b = append(b, '?')
		}
	}
	return string(b)
}
