package vmcore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/value"
)

// TestLabKernel pairs every lab dump with its vmlinux and reads kernel data
// through types, checking against crash 8.0.6's answers where the lab has
// them; then pairs it with the other kernel's vmlinux (refused) and with
// none (not found).
func TestLabKernel(t *testing.T) {
	l := lab.Open(t)
	vmlinuxes := map[string]string{}
	for _, ld := range l.Dumps {
		vmlinuxes[ld.Kernel] = ld.Vmlinux
	}
	for _, kv := range []string{"6.1", "6.12"} {
		if _, ok := vmlinuxes[kv]; !ok {
			if p := filepath.Join(l.Dir, "kernel", kv, "vmlinux"); fileExists(p) {
				vmlinuxes[kv] = p
			}
		}
	}
	for _, ld := range l.Dumps {
		t.Run(ld.Name, func(t *testing.T) {
			d, err := Open(ld.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			k, err := OpenKernel(d, ld.Vmlinux, KernelOptions{})
			if d.Info() == nil {
				// QEMU dumps taken without -device vmcoreinfo.
				if !errors.Is(err, ErrNoVMCOREINFO) {
					t.Errorf("dump without VMCOREINFO: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if off, ok := d.Info().KernelOffset(); !ok || off != k.KASLROffset() || off%0x1000 != 0 {
				t.Errorf("KASLR offset %#x, KERNELOFFSET %#x", k.KASLROffset(), off)
			}
			checkTasks(t, k, d)
			if ld.Ref != "" {
				checkAgainstCrash(t, k, ld)
			}
			for kv, other := range vmlinuxes {
				if kv == ld.Kernel {
					continue
				}
				_, err := OpenKernel(d, other, KernelOptions{})
				var me *MismatchError
				if !errors.As(err, &me) {
					t.Fatalf("kernel %s's vmlinux accepted for a %s dump: %v", kv, ld.Kernel, err)
				}
				if !strings.Contains(err.Error(), "the dump ran "+d.Release()+", the vmlinux is "+me.VmlinuxRelease) || me.VmlinuxRelease == d.Release() {
					t.Errorf("refusal does not name both releases: %v", err)
				}
				t.Logf("refused: %v", err)
			}
			// Finding: in the unpacked -dbg package, and nowhere.
			dbg := filepath.Join(filepath.Dir(ld.Vmlinux), "dbg")
			got, err := d.FindVmlinux(context.Background(), FindOptions{Dirs: []string{dbg}, NoStandard: true, DebuginfodURLs: []string{}, CacheDir: t.TempDir()})
			if err != nil {
				t.Fatalf("FindVmlinux in %s: %v", dbg, err)
			}
			if !sameFile(got, ld.Vmlinux) {
				t.Errorf("found %s, not %s", got, ld.Vmlinux)
			}
			_, err = d.FindVmlinux(context.Background(), FindOptions{NoStandard: true, DebuginfodURLs: []string{}, CacheDir: t.TempDir()})
			if !errors.Is(err, ErrVmlinuxNotFound) || !strings.Contains(err.Error(), d.BuildID()) {
				t.Errorf("no vmlinux anywhere: %v", err)
			}
		})
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// checkTasks walks the task list from init_task and reads per-CPU data.
func checkTasks(t *testing.T, k *Kernel, d *Dump) {
	t.Helper()
	it, err := k.Var("init_task")
	if err != nil {
		t.Fatal(err)
	}
	comm, err := it.Member("comm")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := comm.CString(0); err != nil || s != "swapper/0" {
		t.Errorf("init_task.comm = %q, %v", s, err)
	}
	head, err := it.Member("tasks")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := k.Values.ListEntries(head.Addr, "struct task_struct", "tasks", 100000)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int64]string{}
	for _, task := range tasks {
		pid := mustInt(t, task, "pid")
		c, err := task.Member("comm")
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.CString(0)
		if err != nil {
			t.Fatalf("task %d: %v", pid, err)
		}
		pids[pid] = s
	}
	if len(tasks) < 10 || pids[1] == "" {
		t.Errorf("%d tasks; pid 1 is %q", len(tasks), pids[1])
	}
	for cpu := 0; cpu < d.NumCPUs(); cpu++ {
		rq, err := k.PerCPU("runqueues", cpu)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustInt(t, rq, "cpu"); got != int64(cpu) {
			t.Errorf("runqueues:%d.cpu = %d", cpu, got)
		}
		cur, err := k.PerCPU("current_task", cpu)
		if errors.Is(err, dwarfsym.ErrNotFound) {
			// 6.2 and later keep it in struct pcpu_hot.
			var hot value.Value
			if hot, err = k.PerCPU("pcpu_hot", cpu); err == nil {
				cur, err = hot.Member("current_task")
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		p, err := cur.Member("comm")
		if err != nil {
			t.Fatal(err)
		}
		if s, err := p.CString(0); err != nil || s == "" {
			t.Errorf("current_task:%d->comm = %q, %v", cpu, s, err)
		}
	}
}

func mustInt(t *testing.T, v value.Value, member string) int64 {
	t.Helper()
	m, err := v.Member(member)
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.Int()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkAgainstCrash compares with crash 8.0.6's saved outputs for the
// same dump: sym, p and struct.
func checkAgainstCrash(t *testing.T, k *Kernel, ld *lab.Dump) {
	t.Helper()
	var newest int64
	for _, f := range ld.Files {
		if st, err := os.Stat(f); err == nil && st.ModTime().UnixNano() > newest {
			newest = st.ModTime().UnixNano()
		}
	}
	ref := func(name string) string {
		p := ld.RefFile("crash-8.0.6", name)
		st, err := os.Stat(p)
		if err != nil {
			return ""
		}
		if st.ModTime().UnixNano() < newest {
			t.Logf("%s is older than the dump (the lab is being rebuilt?); not compared", p)
			return ""
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return string(b)
	}
	checked := 0
	for _, name := range []string{"sym-linux_banner.txt", "sym-schedule.txt"} {
		want := strings.TrimSpace(ref(name))
		if want == "" {
			continue
		}
		// "ffffffffac6114f0 (T) schedule debian/.../kernel/sched/core.c: 6654"
		f := strings.Fields(want)
		s, ok := k.Lookup(f[2])
		if !ok {
			t.Errorf("no symbol %s", f[2])
			continue
		}
		got := fmt.Sprintf("%x (%c) %s", s.Addr, s.Kind(), s.Name)
		if len(f) >= 5 {
			frames, err := k.Syms.Lines(s.Addr)
			if err != nil || len(frames) == 0 {
				t.Errorf("Lines(%s): %v", s.Name, err)
			} else {
				last := frames[len(frames)-1]
				got += fmt.Sprintf(" %s: %d", last.File, last.Line)
				if !strings.HasSuffix(f[3], ":") || !strings.HasSuffix(strings.TrimSuffix(f[3], ":"), trimBuildDir(last.File)) {
					t.Errorf("sym %s: file %s, crash says %s", s.Name, last.File, f[3])
				}
				want = strings.Join(f[:3], " ") + " " + last.File + ": " + f[4]
			}
		}
		if got != want {
			t.Errorf("sym: got %q, crash says %q", got, want)
		}
		checked++
	}
	if want := ref("p-init_uts_ns.txt"); want != "" {
		v, err := k.Var("init_uts_ns")
		if err != nil {
			t.Fatal(err)
		}
		n, err := v.Member("name")
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.Format(value.Format{})
		if err != nil {
			t.Fatal(err)
		}
		if "$1 = "+got != strings.TrimSpace(want) {
			t.Errorf("p init_uts_ns.name:\ngot  $1 = %s\ncrash %s", got, want)
		}
		checked++
	}
	if want := ref("struct-init_task.txt"); want != "" {
		// struct task_struct.pid,tgid,comm init_task
		it, _ := k.Var("init_task")
		got, err := it.WriteMembers([]string{"pid", "tgid", "comm"}, value.Format{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("struct task_struct.pid,tgid,comm init_task:\ngot\n%s\ncrash\n%s", got, want)
		}
		checked++
	}
	if ps := ref("ps.txt"); ps != "" {
		// Every task crash lists (not the per-CPU idle tasks) is on our list.
		it, _ := k.Var("init_task")
		head, _ := it.Member("tasks")
		tasks, _ := k.Values.ListEntries(head.Addr, "struct task_struct", "tasks", 100000)
		have := map[uint64]bool{it.Addr: true}
		for _, task := range tasks {
			have[task.Addr] = true
		}
		sc := bufio.NewScanner(strings.NewReader(ps))
		n := 0
		for sc.Scan() {
			f := strings.Fields(strings.TrimPrefix(sc.Text(), ">"))
			if len(f) < 9 || f[0] == "PID" || strings.HasPrefix(f[len(f)-1], "[swapper") {
				continue
			}
			var addr uint64
			fmt.Sscanf(f[3], "%x", &addr)
			if !have[addr] {
				t.Errorf("crash's task %s (pid %s) is not on init_task.tasks", f[3], f[0])
			}
			n++
		}
		if n < 10 {
			t.Errorf("only %d tasks in crash's ps", n)
		}
		checked++
	}
	t.Logf("%d crash outputs compared", checked)
}

func trimBuildDir(p string) string {
	if i := strings.Index(p, "/kernel/"); i >= 0 {
		return p[i:]
	}
	return p
}

// TestLabDebuginfod downloads the lab vmlinux from a real debuginfod
// server (vmcore/testdata/debuginfod.sh starts one and sets
// VMCORE_DEBUGINFOD_URL) and pairs it with a lab dump.
func TestLabDebuginfod(t *testing.T) {
	url := os.Getenv("VMCORE_DEBUGINFOD_URL")
	if url == "" {
		t.Skip("debuginfod test not run: VMCORE_DEBUGINFOD_URL is not set (vmcore/testdata/debuginfod.sh sets it)")
	}
	l := lab.Open(t)
	var ld *lab.Dump
	for _, x := range l.Dumps {
		if x.Kernel == "6.1" && x.Format == "elf" {
			ld = x
			break
		}
	}
	if ld == nil {
		t.Fatal("no 6.1 ELF dump in the lab")
	}
	d, err := Open(ld.Files...)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cache := t.TempDir()
	var log []string
	p, err := d.FindVmlinux(context.Background(), FindOptions{NoStandard: true, DebuginfodURLs: []string{url}, CacheDir: cache, Log: func(s string) { log = append(log, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", strings.Join(log, "\n"))
	want := filepath.Join(cache, d.BuildID(), "debuginfo")
	if p != want {
		t.Errorf("downloaded to %s, want %s", p, want)
	}
	a, _ := os.Stat(p)
	b, _ := os.Stat(ld.Vmlinux)
	if a == nil || b == nil || a.Size() != b.Size() {
		t.Errorf("downloaded file differs in size from %s", ld.Vmlinux)
	}
	k, err := OpenKernel(d, p, KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if _, err := k.Syms.Sizeof("struct task_struct"); err != nil {
		t.Error(err)
	}
	// A build ID the server does not have.
	_, err = FindVmlinux(context.Background(), strings.Repeat("0", 40), "", FindOptions{NoStandard: true, DebuginfodURLs: []string{url}, CacheDir: cache})
	if !errors.Is(err, ErrVmlinuxNotFound) || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown build ID: %v", err)
	}
}
