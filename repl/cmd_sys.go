package repl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(&Command{
		Name:    "sys",
		Usage:   "[-c [name|number]]",
		Summary: "system data",
		Help: `Displays crash's system block: the vmlinux and dump files, CPUs, the
crash date, the kernel's uname fields (read from init_uts_ns through
VMCOREINFO), memory size and the panic message (found in the kernel log
as crash finds it). UPTIME, LOAD AVERAGE and TASKS need the vmlinux and
say so without one.

   -c [name|number]  the system call table: each entry's function and the
                     source file and line that defines it (as crash, the
                     first line of the function outside include/*.h),
                     or only the entries whose name contains name, or
                     the one numbered number.`,
		Run: runSys,
	})
}

// unknownNoVMLinux marks a sys field that needs a vmlinux.
const unknownNoVMLinux = "(unknown without vmlinux)"

func runSys(c *Context, args []string) error {
	if len(args) > 0 && args[0] == "-c" {
		return runSysCalls(c, args[1:])
	}
	if len(args) > 0 {
		return usagef("sys takes no arguments but -c (-t, -i and config are not supported)")
	}
	s := c.Session
	d := s.Dump
	w := c.Out
	kernel := s.VMLinux
	if kernel == "" {
		kernel = "(no vmlinux given)"
	}
	fmt.Fprintf(w, "      KERNEL: %s\n", kernel)
	paths := d.Paths()
	if len(paths) > 1 {
		// crash's show_split_dumpfiles: one file a line.
		mark := ""
		if d.DumpLevel() > 0 {
			mark = " [PARTIAL DUMP]"
		}
		for i, p := range paths {
			label := "              "
			if i == 0 {
				label = "   DUMPFILES: "
			}
			fmt.Fprintf(w, "%s%s%s\n", label, p, mark)
		}
	} else {
		writeDumpFile(w, d)
	}
	present, online := s.cpuMask("__cpu_present_mask"), s.cpuMask("__cpu_online_mask")
	switch {
	case present > 0 && online > 0 && present > online:
		fmt.Fprintf(w, "        CPUS: %d [OFFLINE: %d]\n", present, present-online)
	case present > 0:
		fmt.Fprintf(w, "        CPUS: %d\n", present)
	default:
		fmt.Fprintf(w, "        CPUS: %d\n", d.NumCPUs())
	}
	if t, ok := s.dumpTime(); ok {
		fmt.Fprintf(w, "        DATE: %s\n", crashDate(t))
	} else {
		fmt.Fprintf(w, "        DATE: (unknown)\n")
	}
	if up, ok := s.uptime(); ok {
		fmt.Fprintf(w, "      UPTIME: %s\n", formatUptime(up))
	} else {
		fmt.Fprintf(w, "      UPTIME: %s\n", notYetOr(s, "(unknown: no timekeeper)"))
	}
	return runSysRest(c, s, d, w)
}

// formatUptime is crash's convert_time: [N days, ]HH:MM:SS.
func formatUptime(sec uint64) string {
	days := sec / 86400
	sec %= 86400
	out := fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec%3600/60, sec%60)
	if days > 0 {
		out = fmt.Sprintf("%d days, %s", days, out)
	}
	return out
}

func writeDumpFile(w io.Writer, d *vmcore.Dump) {
	paths := d.Paths()
	label := "    DUMPFILE: "
	flags := ""
	if d.Format() != vmcore.FormatELF && (d.DumpLevel() > 0 || d.Incomplete()) {
		flags = " "
		if d.DumpLevel() > 0 {
			flags += " [PARTIAL DUMP]"
		}
		if d.Incomplete() {
			flags += " [INCOMPLETE]"
		}
	} else if d.Incomplete() {
		flags = "  [INCOMPLETE]"
	}
	fmt.Fprintf(w, "%s%s%s\n", label, strings.Join(paths, " "), flags)
}

func runSysRest(c *Context, s *Session, d *vmcore.Dump, w io.Writer) error {
	fmt.Fprintf(w, "LOAD AVERAGE: %s\n", s.loadAverage())
	fmt.Fprintf(w, "       TASKS: %s\n", s.taskCount())
	uts, utsErr := s.utsname()
	if utsErr != nil {
		uts.release = d.Release()
		uts.machine = d.Arch()
	}
	fmt.Fprintf(w, "    NODENAME: %s\n", orUnknown(uts.nodename))
	fmt.Fprintf(w, "     RELEASE: %s\n", orUnknown(uts.release))
	fmt.Fprintf(w, "     VERSION: %s\n", orUnknown(uts.version))
	fmt.Fprintf(w, "     MACHINE: %s  (%s Mhz)\n", orUnknown(uts.machine), s.cpuMhz())
	if pages, ok := s.presentPages(); ok {
		fmt.Fprintf(w, "      MEMORY: %s\n", memorySize(pages*uint64(d.PageSize())))
	} else if st, err := d.PageStats(); err == nil {
		fmt.Fprintf(w, "      MEMORY: %s\n", memorySize(st.MemoryBytes))
	} else {
		fmt.Fprintf(w, "      MEMORY: (unknown: %v)\n", err)
	}
	msg := s.panicMessage()
	suffix := ""
	if strings.Contains(msg, "Oops: ") {
		suffix = " (check log for details)"
	}
	fmt.Fprintf(w, "       PANIC: %q%s\n", msg, suffix)
	if utsErr != nil {
		fmt.Fprintf(c.Err, "sys: uname fields: %v\n", utsErr)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// crashDate formats as crash's ctime_tz: strftime "%a %b %e %T %Z %Y" in
// local time.
func crashDate(t time.Time) string {
	return t.Local().Format("Mon Jan _2 15:04:05 MST 2006")
}

// memorySize formats as crash's get_memory_size: rounded up to the next
// GiB when within 64 MiB of it, then "%.1f GB" / "%.1f MB" / "%d KB"
// with a trailing ".0" dropped.
func memorySize(total uint64) string {
	const gb, mb = 1 << 30, 1 << 20
	if next := (total + gb - 1) / gb * gb; next-total <= 64*mb {
		total = next
	}
	var s string
	switch {
	case total == 0:
		return "0"
	case total >= gb:
		s = fmt.Sprintf("%.1f GB", float64(total)/gb)
	case total >= mb:
		s = fmt.Sprintf("%.1f MB", float64(total)/mb)
	default:
		return fmt.Sprintf("%d KB", total/1024)
	}
	return strings.Replace(s, ".0 ", " ", 1)
}

// utsFields are the strings of struct new_utsname.
type utsFields struct {
	sysname, nodename, release, version, machine, domainname string
}

// utsname reads init_uts_ns.name: six 65-byte strings, at the offset
// VMCOREINFO gives for uts_namespace.name.
func (s *Session) utsname() (utsFields, error) {
	var u utsFields
	info, err := s.Dump.VMCOREINFO()
	if err != nil {
		return u, err
	}
	base, ok := s.Symbols.LookupSymbol("init_uts_ns")
	if !ok {
		return u, fmt.Errorf("no symbol init_uts_ns")
	}
	off, ok := info.Offset("uts_namespace", "name")
	if !ok {
		return u, fmt.Errorf("VMCOREINFO has no OFFSET(uts_namespace.name)")
	}
	const field = 65
	buf := make([]byte, 6*field)
	if _, err := s.ReadVirt(buf, base+off); err != nil {
		return u, fmt.Errorf("reading init_uts_ns: %w", err)
	}
	str := func(i int) string {
		b := buf[i*field : (i+1)*field]
		if n := bytes.IndexByte(b, 0); n >= 0 {
			b = b[:n]
		}
		return string(b)
	}
	u = utsFields{str(0), str(1), str(2), str(3), str(4), str(5)}
	if u.sysname != "Linux" {
		return utsFields{}, fmt.Errorf("init_uts_ns does not hold a utsname (sysname %q)", u.sysname)
	}
	return u, nil
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

// panicMessage is the first log line (as log -t prints it) holding the
// most severe of panicMessages, or "" when none is found.
func (s *Session) panicMessage() string {
	recs, _, err := s.KernelLog()
	if err != nil {
		return ""
	}
	for _, pm := range panicMessages {
		for _, r := range recs {
			if r.Missing {
				continue
			}
			for _, line := range strings.Split(r.Text, "\n") {
				if strings.Contains(line, pm) {
					return line
				}
			}
		}
	}
	return ""
}

// notYetOr says why a sys field is missing: no vmlinux, or not done yet.
// taskCount is crash's TASKS: every task it found, threads and each CPU's
// idle task included (the entries ps lists).
func (s *Session) taskCount() string {
	if s.Debug == nil {
		return unknownNoVMLinux
	}
	tb, err := s.TaskTable()
	if err != nil {
		return fmt.Sprintf("(unknown: %v)", err)
	}
	return strconv.Itoa(len(tb.Tasks))
}

func notYetOr(s *Session, reason string) string {
	if s.Debug == nil {
		return unknownNoVMLinux
	}
	return reason
}

// loadAverage formats avenrun[] as the kernel's /proc/loadavg and crash
// do: fixed point with 11 fraction bits, rounded by FIXED_1/200.
func (s *Session) loadAverage() string {
	if s.Debug == nil {
		return unknownNoVMLinux
	}
	addr, ok := s.Symbols.LookupSymbol("avenrun")
	if !ok {
		return "(no avenrun symbol)"
	}
	var buf [24]byte
	if _, err := s.ReadVirt(buf[:], addr); err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	const fshift, fixed1 = 11, 1 << 11
	var parts []string
	for i := 0; i < 3; i++ {
		a := binary.LittleEndian.Uint64(buf[i*8:]) + fixed1/200
		parts = append(parts, fmt.Sprintf("%d.%02d", a>>fshift, ((a&(fixed1-1))*100)>>fshift))
	}
	return strings.Join(parts, ", ")
}

// cpuMhz is cpu_khz / 1000, as crash's x86_64 processor speed.
func (s *Session) cpuMhz() string {
	if s.Debug == nil {
		return "unknown"
	}
	addr, ok := s.Symbols.LookupSymbol("cpu_khz")
	if !ok {
		return "unknown"
	}
	var buf [4]byte
	if _, err := s.ReadVirt(buf[:], addr); err != nil {
		return "unknown"
	}
	return fmt.Sprint(binary.LittleEndian.Uint32(buf[:]) / 1000)
}

// presentPages sums node_present_pages over the memory nodes, as crash
// counts memory; without a vmlinux sys falls back to the RAM the dump
// describes, which leaves out memory the capture did not cover (such as
// the crash kernel's reservation).
func (s *Session) presentPages() (uint64, bool) {
	vals, err := s.Values()
	if err != nil {
		return 0, false
	}
	var total uint64
	if nodes, err := vals.Var("node_data"); err == nil {
		for i := 0; i < 1024; i++ {
			p, err := nodes.Index(i)
			if err != nil {
				break
			}
			if addr, err := p.Uint(); err != nil || addr == 0 {
				continue
			}
			n, err := p.Member("node_present_pages")
			if err != nil {
				return 0, false
			}
			v, err := n.Uint()
			if err != nil {
				return 0, false
			}
			total += v
		}
		return total, total > 0
	}
	if contig, err := vals.Var("contig_page_data"); err == nil {
		if n, err := contig.Member("node_present_pages"); err == nil {
			if v, err := n.Uint(); err == nil {
				return v, v > 0
			}
		}
	}
	return 0, false
}

// cpuMask counts the bits of a kernel cpumask (__cpu_present_mask,
// __cpu_online_mask), as crash's get_cpus_present and get_cpus_online do;
// 0 without a vmlinux or when it cannot be read.
func (s *Session) cpuMask(name string) int {
	if s.Debug == nil {
		return 0
	}
	v, err := s.Debug.Variable(name)
	if err != nil || v.Type == nil || v.Type.Size() <= 0 || v.Type.Size() > 1<<16 {
		return 0
	}
	buf := make([]byte, v.Type.Size())
	if _, err := s.ReadVirt(buf, v.Addr); err != nil {
		return 0
	}
	n := 0
	for _, b := range buf {
		n += bits.OnesCount8(b)
	}
	return n
}

const sysCallHeader = "NUM  SYSTEM CALL                FILE AND LINE NUMBER\n"

// runSysCalls prints sys_call_table as crash's sys -c does.
func runSysCalls(c *Context, specs []string) error {
	s := c.Session
	if s.Debug == nil {
		return fmt.Errorf("sys -c needs the vmlinux")
	}
	table, ok := s.Debug.Lookup("sys_call_table")
	if !ok {
		return fmt.Errorf("sys_call_table: symbol not found")
	}
	t := s.crashSymbols()
	n := int(table.Size / 8)
	if n == 0 {
		// crash: up to the next symbol's address.
		n = 256
		i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > table.Addr })
		if i < len(t.syms) {
			n = int((t.syms[i].Addr - table.Addr) / 8)
		}
	}
	n = min(n, 4096)
	buf := make([]byte, 8*n)
	if _, err := s.ReadVirt(buf, table.Addr); err != nil {
		return readError(kernelVirtual, table.Addr, "sys_call_table", err)
	}
	niSyscall, _ := s.Debug.Lookup("sys_ni_syscall")
	buildDir := ""
	if sched, ok := s.Debug.Lookup("schedule"); ok {
		l := s.sourceLine(sched.Addr)
		if i := strings.Index(l, "/kernel/"); i >= 0 {
			buildDir = l[:i]
		} else if i := strings.Index(l, "/./arch/"); i >= 0 {
			buildDir = l[:i]
		}
	}
	var out bytes.Buffer
	out.WriteString(sysCallHeader)
	for i := 0; i < n; i++ {
		if err := c.Stopped(); err != nil {
			return err
		}
		fn := binary.LittleEndian.Uint64(buf[8*i:])
		sym, off, ok := t.search(fn)
		if !ok || off != 0 {
			fmt.Fprintf(&out, "%3d  invalid sys_call_table entry: %x ", i, fn)
			if name := s.crashSymbolic(fn); name != "" {
				fmt.Fprintf(&out, "(%s)\n", name)
			} else {
				out.WriteString("\n")
			}
			continue
		}
		name := sym.shown
		if niSyscall.Addr != 0 && fn == niSyscall.Addr {
			name = "sys_ni_syscall"
		}
		fmt.Fprintf(&out, "%3d  %-26s ", i, name)
		out.WriteString(s.sysCallSource(t, fn, buildDir))
		out.WriteString("\n")
	}
	if len(specs) == 0 {
		_, err := c.Out.Write(out.Bytes())
		return err
	}
	lines := strings.SplitAfter(out.String(), "\n")[1:]
	for _, spec := range specs {
		number := spec != "" && strings.Trim(spec, "0123456789") == ""
		if number {
			v, _ := strconv.Atoi(spec)
			spec = strconv.Itoa(v)
		}
		header := false
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) < 2 || !(number && f[0] == spec || !number && strings.Contains(f[1], spec)) {
				continue
			}
			if !header {
				io.WriteString(c.Out, sysCallHeader)
				header = true
			}
			io.WriteString(c.Out, line)
			if number {
				break
			}
		}
	}
	return nil
}

// sysCallSource is the position crash shows for a system call: the first
// address of the function, up to the next symbol, whose line is not an
// include/ header's, from the build directory on ("../fs/read_write.c:
// 621").
func (s *Session) sysCallSource(t *crashSymbolTable, fn uint64, buildDir string) string {
	// Up to crash's next_symbol: the first with a higher address.
	i := sort.Search(len(t.syms), func(i int) bool { return t.syms[i].Addr > fn })
	if i >= len(t.syms) {
		return ""
	}
	next := t.syms[i].Addr
	for addr := fn; addr < next && addr-fn < 1<<16; addr++ {
		l := s.sourceLine(addr)
		if strings.Contains(l, ".h: ") && strings.Contains(l, "include/") {
			continue
		}
		if j := strings.Index(l, buildDir); j >= 0 {
			if l == "" {
				return ""
			}
			return ".." + l[j+len(buildDir):]
		}
	}
	return ""
}
