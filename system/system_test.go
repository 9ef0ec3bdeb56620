package system_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	fk "github.com/vmcoretools/vmcore/internal/fakekernel"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/system"
	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/vmcoreinfo"
)

// newKernel is a synthetic kernel with what sys reads: init_uts_ns,
// avenrun, tk_core, cpu_khz, node_data, the CPU masks, panic_cpu and a
// system call table.
func newKernel() *fk.Kernel {
	k := fk.New(4)
	uts := fk.Struct("struct", "new_utsname", fk.M("sysname", fk.Array(fk.Char, 65)), fk.M("nodename", fk.Array(fk.Char, 65)),
		fk.M("release", fk.Array(fk.Char, 65)), fk.M("version", fk.Array(fk.Char, 65)), fk.M("machine", fk.Array(fk.Char, 65)), fk.M("domainname", fk.Array(fk.Char, 65)))
	ns := fk.Struct("struct", "uts_namespace", fk.M("kref", fk.U32), fk.M("name", uts))
	tkr := fk.Struct("struct", "timekeeper", fk.M("cycle", fk.U64), fk.M("xtime_sec", fk.U64), fk.M("ktime_sec", fk.U64))
	tkc := fk.Struct("struct", "tk_core_t", fk.M("seq", fk.U32), fk.M("timekeeper", tkr))
	pg := fk.Struct("struct", "pglist_data", fk.M("node_start_pfn", fk.U64), fk.M("node_present_pages", fk.U64))
	mask := fk.Struct("struct", "cpumask", fk.M("bits", fk.Array(fk.U64, 1)))
	atomic := fk.Struct("struct", "atomic_t", fk.M("counter", fk.I32))
	k.Add(uts, ns, tkr, tkc, pg, mask, atomic)
	k.Types["unsigned long[3]"] = fk.Array(fk.U64, 3)
	k.Types["struct pglist_data *[4]"] = fk.Array(fk.Ptr(pg), 4)
	k.Types["sys_call_ptr_t[4]"] = fk.Array(fk.Ptr(fk.Void), 4)

	u := k.Var("init_uts_ns", "struct uts_namespace")
	for member, s := range map[string]string{"sysname": "Linux", "nodename": "lab", "release": "6.12.0-test", "version": "#1 SMP", "machine": "x86_64"} {
		k.SetString(u, "struct uts_namespace", "name."+member, s)
	}
	av := k.Var("avenrun", "unsigned long[3]")
	k.Put64(av, 164) // 0.08 after rounding
	k.Put64(av+8, 41)
	k.Put64(av+16, 0)
	tk := k.Var("tk_core", "struct tk_core_t")
	k.Set(tk, "struct tk_core_t", "timekeeper.xtime_sec", 1_800_000_000)
	k.Set(tk, "struct tk_core_t", "timekeeper.ktime_sec", 90061)
	k.Put64(k.Var("cpu_khz", "unsigned int"), 2096123)
	k.Put64(k.Var("tainted_mask", "long unsigned int"), 1<<12|1<<13)
	nodes := k.Var("node_data", "struct pglist_data *[4]")
	n0, n1 := k.New("struct pglist_data"), k.New("struct pglist_data")
	k.Set(n0, "struct pglist_data", "node_present_pages", 1000)
	k.Set(n1, "struct pglist_data", "node_present_pages", 24)
	k.Put64(nodes, n0)
	k.Put64(nodes+16, n1)
	k.Put64(k.Var("__cpu_present_mask", "struct cpumask"), 0b1111)
	k.Put64(k.Var("__cpu_online_mask", "struct cpumask"), 0b0100)
	k.Put64(k.Var("nr_cpu_ids", "unsigned int"), 4)
	k.Set(k.Var("panic_cpu", "struct atomic_t"), "struct atomic_t", "counter", 2)

	table := k.Var("sys_call_table", "sys_call_ptr_t[4]")
	for i, name := range []string{"__x64_sys_read", "__x64_sys_write", "sys_ni_syscall"} {
		addr := 0xffffffff81000000 + uint64(i)*0x100
		k.Symbol(ktype.Symbol{Name: name, Addr: addr, Size: 0x100, Type: ktype.SymFunc, Kind: 'T'})
		k.Put64(table+uint64(8*i), addr)
	}
	k.Put64(table+24, 0xffffffff81000010) // inside read: not a function
	k.Symbol(ktype.Symbol{Name: "sys_call_table", Addr: table, Size: 32, Type: ktype.SymObject, Kind: 'D'})
	return k
}

func table(k *fk.Kernel) *tasks.Table {
	var ts []*tasks.Task
	for i := 0; i < 6; i++ {
		ts = append(ts, &tasks.Task{Addr: k.New("struct atomic_t"), PID: i, Comm: "t"})
	}
	tb := tasks.NewTable(ts)
	tb.Current = []uint64{ts[0].Addr, ts[1].Addr, ts[4].Addr, ts[3].Addr}
	return tb
}

func TestSummarize(t *testing.T) {
	k := newKernel()
	tb := table(k)
	crashed := time.Unix(1_800_000_100, 0)
	log := []printk.Record{{Text: "Oops: 0000 [#1] SMP"}, {Text: "first\nKernel panic - not syncing: sysrq triggered crash"}}
	s := system.Summarize(system.Sources{
		Values: k.C, Tasks: func() (*tasks.Table, error) { return tb, nil },
		DumpCPUs: 2, CrashTime: crashed, PageSize: 4096,
		Log: func() ([]printk.Record, error) { return log, nil },
	})
	if s.Unknown != nil {
		t.Errorf("unknown fields: %v", s.Unknown)
	}
	if s.CPUs != 4 || s.OfflineCPUs != 3 {
		t.Errorf("CPUs %d offline %d, want 4 and 3", s.CPUs, s.OfflineCPUs)
	}
	if s.Taint == nil || system.TaintFlags(*s.Taint) != "OE" {
		t.Errorf("taint %v, want OE", s.Taint)
	}
	if s.Date == nil || !s.Date.Equal(crashed) {
		t.Errorf("date %v, want the dump's", s.Date)
	}
	if s.UptimeSeconds == nil || *s.UptimeSeconds != 90061 {
		t.Errorf("uptime %v", s.UptimeSeconds)
	}
	if s.LoadAverage == nil || s.LoadAverage.String() != "0.08, 0.02, 0.00" {
		t.Errorf("load average %v", s.LoadAverage)
	}
	if s.Tasks == nil || *s.Tasks != 6 {
		t.Errorf("tasks %v", s.Tasks)
	}
	if s.Uname == nil || s.Uname.Nodename != "lab" || s.Release != "6.12.0-test" || s.Machine != "x86_64" || s.Uname.Version != "#1 SMP" {
		t.Errorf("uname %+v", s.Uname)
	}
	if s.CPUMHz == nil || *s.CPUMHz != 2096 {
		t.Errorf("MHz %v", s.CPUMHz)
	}
	if s.MemoryBytes == nil || *s.MemoryBytes != 1024*4096 {
		t.Errorf("memory %v", s.MemoryBytes)
	}
	// The most severe message wins over an earlier oops.
	if s.Panic.Message != "Kernel panic - not syncing: sysrq triggered crash" || s.Panic.Oops {
		t.Errorf("panic %+v", s.Panic)
	}
	if s.Panic.CPU != 2 || s.Panic.Task == nil || s.Panic.Task.PID != 4 {
		t.Errorf("panic CPU %d task %+v, want CPU 2, pid 4", s.Panic.CPU, s.Panic.Task)
	}

	// Without the dump's date: the kernel's clock.
	s = system.Summarize(system.Sources{Values: k.C, Tasks: func() (*tasks.Table, error) { return tb, nil }, PageSize: 4096})
	if s.Date == nil || s.Date.Unix() != 1_800_000_000 {
		t.Errorf("date from the clock: %v", s.Date)
	}
	if s.Panic.Message != "" {
		t.Errorf("panic message without a log: %q", s.Panic.Message)
	}
}

func TestSummarizeBroken(t *testing.T) {
	k := newKernel()
	// Memory nodes and the load average unreadable, the task table
	// failing, the uname garbage: each field says why, the others stand.
	k.SetString(k.Vars["init_uts_ns"].Addr, "struct uts_namespace", "name.sysname", "Linu")
	delete(k.Vars, "avenrun")
	delete(k.Vars, "node_data")
	s := system.Summarize(system.Sources{
		Values: k.C, Tasks: func() (*tasks.Table, error) { return nil, errors.New("no tasks here") },
		Release: "6.1.0", Machine: "x86_64",
		RAM: func() (uint64, error) { return 0, errors.New("no RAM either") },
	})
	for _, f := range []string{"load_average", "tasks", "uname", "memory_bytes"} {
		if s.Unknown[f] == "" {
			t.Errorf("%s: no reason given (%v)", f, s.Unknown)
		}
	}
	if !strings.Contains(s.Unknown["load_average"], "avenrun") || !strings.Contains(s.Unknown["tasks"], "no tasks here") {
		t.Errorf("reasons %v", s.Unknown)
	}
	if s.LoadAverage != nil || s.Tasks != nil || s.Uname != nil || s.MemoryBytes != nil || s.Panic.CPU != -1 {
		t.Errorf("fields set though unknown: %+v", s)
	}
	if s.Release != "6.1.0" || s.UptimeSeconds == nil {
		t.Errorf("fallbacks: release %q uptime %v", s.Release, s.UptimeSeconds)
	}
}

func TestSummarizeWithoutTypes(t *testing.T) {
	k := newKernel()
	u := k.Vars["init_uts_ns"].Addr
	info, err := vmcoreinfo.Parse([]byte("OSRELEASE=6.12.0-test\nSYMBOL(init_uts_ns)=" + hex(u) + "\nOFFSET(uts_namespace.name)=4\nPAGESIZE=4096\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := system.Summarize(system.Sources{Info: info, Mem: k.Mem, DumpCPUs: 2,
		RAM: func() (uint64, error) { return 512 << 20, nil }})
	if s.CPUs != 2 || s.Uname == nil || s.Uname.Nodename != "lab" || s.MemoryBytes == nil || *s.MemoryBytes != 512<<20 {
		t.Errorf("summary without types: %+v", s)
	}
	for _, f := range []string{"uptime_seconds", "load_average", "tasks", "cpu_mhz", "date"} {
		if s.Unknown[f] == "" {
			t.Errorf("%s: no reason", f)
		}
	}
	if !strings.Contains(s.Unknown["tasks"], system.ErrNoTypes.Error()) {
		t.Errorf("tasks: %q", s.Unknown["tasks"])
	}
	if _, err := system.UnameFromVMCOREINFO(k.Mem, nil); err == nil {
		t.Error("uname without VMCOREINFO")
	}
}

func hex(x uint64) string {
	const digits = "0123456789abcdef"
	var b []byte
	for ; x > 0; x >>= 4 {
		b = append([]byte{digits[x&15]}, b...)
	}
	return string(b)
}

func TestSysCallTable(t *testing.T) {
	k := newKernel()
	calls, err := system.SysCallTable(k.C, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []system.SysCall{
		{Num: 0, Addr: 0xffffffff81000000, Name: "__x64_sys_read"},
		{Num: 1, Addr: 0xffffffff81000100, Name: "__x64_sys_write"},
		{Num: 2, Addr: 0xffffffff81000200, Name: "sys_ni_syscall", NotImplemented: true},
		{Num: 3, Addr: 0xffffffff81000010},
	}
	if len(calls) != len(want) {
		t.Fatalf("%d calls", len(calls))
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
	// A count past the mapped table: the read's error names the address.
	k.Mem.Unmap(k.Vars["sys_call_table"].Addr)
	if _, err := system.SysCallTable(k.C, 2); err == nil || !strings.Contains(err.Error(), hex(k.Vars["sys_call_table"].Addr)) {
		t.Errorf("unmapped table: %v", err)
	}
}

func TestPanicMessage(t *testing.T) {
	recs := []printk.Record{{Text: "BUG: unable to handle kernel NULL pointer dereference"}, {Text: "Oops: 0002 [#1]", Missing: false}}
	if got := system.PanicMessage(recs); got != "BUG: unable to handle kernel NULL pointer dereference" {
		t.Errorf("got %q", got)
	}
	if got := system.PanicMessage(recs[1:]); got != "Oops: 0002 [#1]" {
		t.Errorf("got %q", got)
	}
	if got := system.PanicMessage([]printk.Record{{Text: "Kernel panic - x", Missing: true}}); got != "" {
		t.Errorf("a missing record gave %q", got)
	}
}

func TestParseUtsname(t *testing.T) {
	b := make([]byte, 6*65)
	copy(b, "Linux")
	copy(b[65:], "host")
	u, err := system.ParseUtsname(b)
	if err != nil || u.Nodename != "host" {
		t.Errorf("%+v, %v", u, err)
	}
	if _, err := system.ParseUtsname(b[:100]); err == nil {
		t.Error("short utsname parsed")
	}
	b[0] = 'l'
	if _, err := system.ParseUtsname(b); err == nil {
		t.Error("garbage parsed as a utsname")
	}
}

func TestLoadAverage(t *testing.T) {
	l := system.LoadAverage{Avenrun: [3]uint64{2048, 3072, 1 << 20}}
	if got := l.String(); got != "1.00, 1.50, 512.00" {
		t.Errorf("String = %q", got)
	}
	if got := l.Loads(); got != [3]float64{1, 1.5, 512} {
		t.Errorf("Loads = %v", got)
	}
}

// The summary's JSON names every field, unknown ones as null with their
// reason under "unknown".
func TestSummaryJSON(t *testing.T) {
	k := newKernel()
	delete(k.Vars, "avenrun")
	s := system.Summarize(system.Sources{Values: k.C, Tasks: func() (*tasks.Table, error) { return table(k), nil }, PageSize: 4096})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cpus", "offline_cpus", "date", "uptime_seconds", "load_average", "tasks", "uname", "release", "machine", "cpu_mhz", "memory_bytes", "panic"} {
		if _, ok := m[f]; !ok {
			t.Errorf("no %q in %s", f, b)
		}
	}
	if m["load_average"] != nil || m["unknown"].(map[string]any)["load_average"] == nil {
		t.Errorf("load average: %v, unknown %v", m["load_average"], m["unknown"])
	}
	var back system.Summary
	if err := json.Unmarshal(b, &back); err != nil || *back.Tasks != 6 || back.Panic.Task.PID != 4 || back.Uname.Nodename != "lab" {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

// TestUptimeFromJiffies: UPTIME is jiffies over HZ, as crash counts it,
// not the timekeeper's monotonic seconds, which started at another instant
// and can be a second behind at a rounding edge; without jiffies the
// timekeeper stands in.
func TestUptimeFromJiffies(t *testing.T) {
	k := newKernel()
	if up, err := system.Uptime(k.C); err != nil || up != 90061 {
		t.Errorf("without jiffies: %d, %v; want the timekeeper's 90061", up, err)
	}
	const hz = 250
	initial := uint64(1<<32 - 300*hz) // INITIAL_JIFFIES
	k.Put64(k.Var("jiffies_64", "long unsigned int"), initial+90062*hz+100)
	k.Put64(k.Var("tick_nsec", "long unsigned int"), 4_000_000)
	if up, err := system.Uptime(k.C); err != nil || up != 90062 {
		t.Errorf("from jiffies: %d, %v; want 90062", up, err)
	}
	if hz, ok := system.HZFromTick(999_848); !ok || hz != 1000 {
		t.Errorf("HZFromTick(999848) = %d, %v", hz, ok)
	}
	if _, ok := system.HZFromTick(123); ok {
		t.Error("HZFromTick(123) accepted")
	}
}

// TestUptimeWithoutTickNsec: 7.x kernels have no tick_nsec; HZ is fitted
// to the monotonic clock, at a few seconds of uptime as at a day.
func TestUptimeWithoutTickNsec(t *testing.T) {
	for _, c := range []struct {
		hz       int
		up, mono uint64
	}{{250, 6, 6}, {1000, 12, 11}, {300, 90061, 90061}, {100, 3, 4}} {
		k := newKernel()
		initial := uint64(uint32(-300 * int32(c.hz)))
		k.Put64(k.Var("jiffies_64", "long unsigned int"), initial+c.up*uint64(c.hz)+uint64(c.hz/3))
		k.Set(k.Var("tk_core", "struct tk_core_t"), "struct tk_core_t", "timekeeper.ktime_sec", c.mono)
		if up, err := system.Uptime(k.C); err != nil || up != c.up {
			t.Errorf("HZ %d, %d s: %d, %v", c.hz, c.up, up, err)
		}
	}
	if hz, ok := system.HZFromClock(uint64(1<<32-300*250)+1500, 6); !ok || hz != 250 {
		t.Errorf("HZFromClock at 6 s = %d, %v", hz, ok)
	}
	if _, ok := system.HZFromClock(12345, 6); ok {
		t.Error("HZFromClock accepted jiffies that fit no HZ")
	}
}

func TestTaintFlags(t *testing.T) {
	for mask, want := range map[uint64]string{0: "", 1 << 12: "O", 1<<12 | 1<<13: "OE", 1 << 9: "W", 1 << 40: "?"} {
		if got := system.TaintFlags(mask); got != want {
			t.Errorf("TaintFlags(%#x) = %q, want %q", mask, got, want)
		}
	}
}
