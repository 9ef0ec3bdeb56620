package triage

import (
	"strings"
	"testing"
)

// Synthetic logs in the kernel's own formats, one per kind the lab
// cannot provoke with the guest's tools (the lab proves sysrq, hung_task
// and oom on real dumps: lab_test.go).
var classifyCases = []struct {
	name, log string
	kind      Kind
	check     func(t *testing.T, f Failure, fp Fingerprint)
}{
	{"null-deref", `BUG: kernel NULL pointer dereference, address: 0000000000000008
#PF: supervisor read access in kernel mode
#PF: error_code(0x0000) - not-present page
PGD 0 P4D 0
Oops: 0000 [#1] PREEMPT SMP NOPTI
CPU: 3 PID: 4242 Comm: kworker/3:1 Tainted: G           OE      6.1.0-9-amd64 #1  Debian 6.1.27-1
RIP: 0010:mydrv_poll+0x2a/0x90 [mydrv]
Call Trace:
 <TASK>
 ? __die+0x23/0x70
 mydrv_poll+0x2a/0x90 [mydrv]
 process_one_work.isra.0+0x1c4/0x380
 worker_thread+0x4d/0x380
 ? rescuer_thread+0x3a0/0x3a0
 kthread+0xd7/0x100
 ret_from_fork+0x1f/0x30
 </TASK>
Kernel panic - not syncing: Fatal exception`, KindOops, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Fault == nil || f.Fault.Address != "0000000000000008" || f.Fault.Access != "read" || f.Fault.Mode != "kernel" ||
			f.Fault.IP != "mydrv_poll+0x2a/0x90 [mydrv]" || f.Fault.Reason != "kernel NULL pointer dereference" {
			t.Errorf("fault %+v", f.Fault)
		}
		if f.CPU != 3 || f.PID != 4242 || f.Comm != "kworker/3:1" {
			t.Errorf("context %d %d %s", f.CPU, f.PID, f.Comm)
		}
		if fp.Signature != "oops: mydrv_poll [mydrv] < process_one_work < worker_thread" {
			t.Errorf("signature %q", fp.Signature)
		}
	}},
	{"paging", `BUG: unable to handle page fault for address: ffffc90000a3b000
#PF: supervisor write access in kernel mode
#PF: error_code(0x0002) - not-present page
Oops: 0002 [#1] SMP PTI
CPU: 0 PID: 1 Comm: init Not tainted 5.10.0-32-amd64 #1
RIP: 0010:memset_orig+0x33/0xb0
Call Trace:
 foo_init+0x10/0x20
 do_one_initcall+0x44/0x1d0
Kernel panic - not syncing: Fatal exception`, KindOops, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Fault == nil || f.Fault.Address != "ffffc90000a3b000" || f.Fault.Reason != "unable to handle page fault" || f.Fault.Access != "write" {
			t.Errorf("fault %+v", f.Fault)
		}
	}},
	{"bug", `------------[ cut here ]------------
kernel BUG at fs/ext4/inode.c:1234!
invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
CPU: 1 PID: 77 Comm: kworker/u4:2 Not tainted 6.1.0-9-amd64 #1
RIP: 0010:ext4_writepages.cold+0x5/0x7
Call Trace:
 <TASK>
 ext4_writepages.cold+0x5/0x7
 do_writepages+0xcd/0x1e0
 __writeback_single_inode+0x3d/0x360
 </TASK>
Kernel panic - not syncing: Fatal exception`, KindBug, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Location == nil || f.Location.File != "fs/ext4/inode.c" || f.Location.Line != 1234 || f.Location.Function != "ext4_writepages" {
			t.Errorf("location %+v", f.Location)
		}
		if fp.Signature != "bug: ext4_writepages < do_writepages < __writeback_single_inode" {
			t.Errorf("signature %q", fp.Signature)
		}
	}},
	{"gpf", `Oops: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI
CPU: 2 UID: 0 PID: 900 Comm: stress Not tainted 6.12.9-amd64 #1
RIP: 0010:list_del+0x10/0x30
Call Trace:
 <TASK>
 ? die_addr+0x36/0x90
 ? exc_general_protection+0x1c5/0x430
 release_thing+0x20/0x40
 do_exit+0x300/0xa80
 </TASK>
Kernel panic - not syncing: Fatal exception`, KindGPF, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Fault == nil || f.Fault.Address != "0xdead000000000122" || !strings.HasPrefix(f.Fault.Reason, "general protection fault") || f.Fault.IP != "list_del+0x10/0x30" {
			t.Errorf("fault %+v", f.Fault)
		}
	}},
	{"soft-lockup", `watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [spin:321]
CPU: 1 PID: 321 Comm: spin Not tainted 6.1.0-9-amd64 #1
RIP: 0010:spin_forever+0x5/0x10 [spinmod]
Call Trace:
 <IRQ>
 watchdog_timer_fn+0x1d0/0x230
 __hrtimer_run_queues+0x112/0x2b0
 </IRQ>
 <TASK>
 spin_forever+0x5/0x10 [spinmod]
 spin_write+0x20/0x40 [spinmod]
 vfs_write+0xc8/0x3f0
 </TASK>
Kernel panic - not syncing: softlockup: hung tasks`, KindSoftLockup, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Lockup == nil || f.Lockup.CPU != 1 || f.Lockup.Seconds != 22 || f.Lockup.PID != 321 || f.Lockup.Comm != "spin" {
			t.Errorf("lockup %+v", f.Lockup)
		}
		if fp.Signature != "soft_lockup: spin_forever [spinmod] < spin_write [spinmod] < vfs_write" {
			t.Errorf("signature %q", fp.Signature)
		}
	}},
	{"hard-lockup", `NMI watchdog: Watchdog detected hard LOCKUP on cpu 2
CPU: 2 PID: 0 Comm: swapper/2 Not tainted 6.1.0-9-amd64 #1
Call Trace:
 <NMI>
 watchdog_overflow_callback+0x5/0x10
 </NMI>
 <TASK>
 native_queued_spin_lock_slowpath+0x50/0x1e0
 _raw_spin_lock+0x1a/0x20
 </TASK>
Kernel panic - not syncing: Hard LOCKUP`, KindHardLockup, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Lockup == nil || f.Lockup.CPU != 2 {
			t.Errorf("lockup %+v", f.Lockup)
		}
		if fp.Frames[0] != "native_queued_spin_lock_slowpath" {
			t.Errorf("frames %q", fp.Frames)
		}
	}},
	{"rcu", `rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
rcu: 	1-...!: (0 ticks this GP) idle=a3c/1/0x4000000000000000
CPU: 1 PID: 12 Comm: rcu_preempt Not tainted 6.1.0-9-amd64 #1
Kernel panic - not syncing: RCU Stall`, KindRCUStall, nil},
	{"warning", `------------[ cut here ]------------
WARNING: CPU: 0 PID: 55 at net/core/dev.c:3200 skb_warn_bad_offload+0x9b/0xb0
Modules linked in: e1000
CPU: 0 PID: 55 Comm: ksoftirqd/0 Not tainted 6.1.0-9-amd64 #1
Kernel panic - not syncing: kernel: panic_on_warn set ...
CPU: 0 PID: 55 Comm: ksoftirqd/0 Not tainted 6.1.0-9-amd64 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x44/0x5c
 panic+0x118/0x2ef
 check_panic_on_warn.cold+0x10/0x10
 __warn+0xa6/0x170
 ? skb_warn_bad_offload+0x9b/0xb0
 report_bug+0x197/0x1c0
 handle_bug+0x3c/0x70
 exc_invalid_op+0x14/0x70
 asm_exc_invalid_op+0x16/0x20
 skb_warn_bad_offload+0x9b/0xb0
 __skb_gso_segment+0xee/0x150
 </TASK>`, KindWarning, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.Location == nil || f.Location.File != "net/core/dev.c" || f.Location.Line != 3200 || f.Location.Function != "skb_warn_bad_offload" {
			t.Errorf("location %+v", f.Location)
		}
		if fp.Signature != "warning: skb_warn_bad_offload < __skb_gso_segment" {
			t.Errorf("signature %q", fp.Signature)
		}
	}},
	{"mce", `mce: [Hardware Error]: CPU 0: Machine Check Exception: 5 Bank 4: b200000000070f0f
mce: [Hardware Error]: RIP !INEXACT! 10:<ffffffff8101a8c4>
Kernel panic - not syncing: Fatal machine check`, KindMachineCheck, nil},
	{"unknown", `something odd
Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-9-amd64 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x44/0x5c
 panic+0x118/0x2ef
 mount_block_root+0x1d3/0x1f0
 prepare_namespace+0x136/0x165
 </TASK>`, KindUnknown, func(t *testing.T, f Failure, fp Fingerprint) {
		if fp.Signature != "unknown: mount_block_root < prepare_namespace" {
			t.Errorf("signature %q", fp.Signature)
		}
	}},
	{"oom-killed", `stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0
CPU: 0 PID: 800 Comm: stress Not tainted 6.1.0-9-amd64 #1
oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a,task=hog,pid=801,uid=0
Memory cgroup out of memory: Killed process 801 (hog) total-vm:100kB
Kernel panic - not syncing: Out of memory and no killable processes...`, KindOOM, func(t *testing.T, f Failure, fp Fingerprint) {
		if f.OOM == nil || f.OOM.Invoker != "stress" || f.OOM.Constraint != "CONSTRAINT_MEMCG" || f.OOM.Victim == nil || f.OOM.Victim.PID != 801 {
			t.Errorf("oom %+v", f.OOM)
		}
	}},
	{"earlier-boot", `sysrq: Trigger a crash
Kernel panic - not syncing: sysrq triggered crash
Linux version 6.1.0-9-amd64
booted again, running`, KindNone, nil},
}

func TestClassify(t *testing.T) {
	for _, c := range classifyCases {
		t.Run(c.name, func(t *testing.T) {
			lines := strings.Split(c.log, "\n")
			f := Classify(lines)
			if f.Kind != c.kind {
				t.Fatalf("kind %s, want %s (%+v)", f.Kind, c.kind, f)
			}
			r := &Report{Failure: f, Unknown: map[string]string{}}
			r.fingerprint(lines)
			if c.kind != KindNone && (r.Fingerprint.ID == "" || !strings.HasPrefix(r.Fingerprint.ID, string(c.kind)+"-")) {
				t.Errorf("fingerprint %+v", r.Fingerprint)
			}
			if c.check != nil {
				c.check(t, f, r.Fingerprint)
			}
		})
	}
}

// The fingerprint ignores what moves between builds and formats:
// offsets, clone suffixes, unreliable entries; and tells different paths
// apart.
func TestFingerprintStable(t *testing.T) {
	a := []string{"sysrq: Trigger a crash", "Kernel panic - not syncing: sysrq triggered crash", "Call Trace:", " <TASK>",
		" dump_stack_lvl+0x44/0x5c", " panic+0x118/0x2ef", " sysrq_handle_crash+0x16/0x20", " __handle_sysrq.cold+0x43/0x11a",
		" ? foo+0x1/0x2", " write_sysrq_trigger+0x24/0x40", " </TASK>"}
	b := []string{"sysrq: Trigger a crash", "Kernel panic - not syncing: sysrq triggered crash", "Call Trace:", " <TASK>",
		" vpanic+0x2de/0x340", " panic+0x64/0x70", " sysrq_handle_crash+0x1a/0x20", " __handle_sysrq+0x97/0x1b0",
		" write_sysrq_trigger+0x7b/0xd0", " </TASK>"}
	c := append([]string{}, a...)
	c[7] = " __handle_other+0x43/0x11a"
	fp := func(lines []string) Fingerprint {
		r := &Report{Failure: Classify(lines), Unknown: map[string]string{}}
		r.fingerprint(lines)
		return r.Fingerprint
	}
	if fa, fb := fp(a), fp(b); fa.ID != fb.ID || fa.Signature != "sysrq: sysrq_handle_crash < __handle_sysrq < write_sysrq_trigger" {
		t.Errorf("%+v\n%+v", fa, fb)
	}
	if fa, fc := fp(a), fp(c); fa.ID == fc.ID {
		t.Errorf("different paths, one fingerprint %s", fa.ID)
	}
	if f := fp(nil); f.ID != "" || f.Source != "none" {
		t.Errorf("no log: %+v", f)
	}
}
