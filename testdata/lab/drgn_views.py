"""Records, through drgn's own helpers, what crash's mod, runq, files, vm
and vtop show of one dump, for kernels crash cannot read (sid's 7.x): the
truth the lab tests compare this project's views with. Run on the dumps
crash can read too, where the tests check these files against crash first.
Usage: drgn_views.py VMLINUX OUTDIR DUMP

Files (tab-separated, one header line):
  modules.txt  NAME  MODULE (struct module address)  TEXT_BASE
  runq.txt     CPU  CURR (task address)  CURR_PID  QUEUED (CFS pids, sorted)
  files.txt    FD  FILE  PATH          (the panic task's open files)
  vm.txt       START  END  FLAGS       (the panic task's mappings, hex)
  vtop.txt     VADDR  PADDR            (through init_mm's page tables)
  panic.txt    PID  TASK  CPU          (the task that panicked)
  slabs.txt    CACHE  NAME  SLABS  TOTAL  ALLOCATED   (slab_cache_usage)
  sys.txt      KEY  VALUE          (RELEASE VERSION MACHINE NODENAME CPUS
                                    DATE LOAD: what crash's sys shows)
  meminfo.txt  KEY  PAGES          (TOTAL FREE SLAB: kmem -i's counts)
  modsyms.txt  MODULE  NAME  ADDRESS  (each module's own kallsyms)
"""
import os
import sys
import traceback

import drgn
from drgn.helpers.linux.cpumask import for_each_online_cpu, for_each_present_cpu
from drgn.helpers.linux.kallsyms import module_kallsyms
from drgn.helpers.linux.mm import totalram_pages
from drgn.helpers.linux.timekeeping import ktime_get_real_seconds
from drgn.helpers.linux.vmstat import global_node_page_state, global_zone_page_state
from drgn.helpers.linux.fs import d_path, for_each_file
from drgn.helpers.linux.mm import follow_phys, for_each_vma
from drgn.helpers.linux.percpu import per_cpu
from drgn.helpers.linux.module import for_each_module
from drgn.helpers.linux.panic import panic_task
from drgn.helpers.linux.rbtree import rbtree_inorder_for_each_entry
from drgn.helpers.linux.sched import cpu_curr, task_cpu
from drgn.helpers.linux.slab import for_each_slab_cache, slab_cache_usage


def main():
    vmlinux, out, dump = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    prog = drgn.Program()
    prog.set_core_dump(dump)
    prog.load_debug_info([vmlinux])
    failed = 0

    def record(name, header, fn):
        nonlocal failed
        try:
            rows = fn()
            text = header + "\n" + "".join("\t".join(str(c) for c in r) + "\n" for r in rows)
        except Exception:
            failed += 1
            text = "DRGN-ERROR\n" + traceback.format_exc()
            print(f"{name}: {text.splitlines()[-1]}", file=sys.stderr)
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    def modules():
        rows = []
        for m in for_each_module(prog):
            try:
                base = m.mem[0].base.value_()  # MOD_TEXT, 6.4 and later
            except (AttributeError, LookupError):
                base = m.core_layout.base.value_()
            rows.append((m.name.string_().decode(), hex(m.value_()), hex(base)))
        return sorted(rows)

    def runq():
        rows = []
        for cpu in for_each_online_cpu(prog):
            rq = per_cpu(prog["runqueues"], cpu)
            curr = cpu_curr(prog, cpu)
            queued = sorted(
                int(drgn.container_of(se, "struct task_struct", "se").pid)
                for se in rbtree_inorder_for_each_entry(
                    "struct sched_entity", rq.cfs.tasks_timeline.rb_root.address_of_(), "run_node")
            )
            rows.append((cpu, hex(curr.value_()), int(curr.pid), ",".join(map(str, queued)) or "-"))
        return rows

    def panicked():
        t = panic_task(prog)
        if not t:
            raise LookupError("no panic task")
        return t

    def files():
        t = panicked()
        return [(fd, hex(f.value_()), d_path(f.f_path).decode(errors="replace")) for fd, f in for_each_file(t)]

    def vm():
        t = panicked()
        return [(hex(v.vm_start.value_()), hex(v.vm_end.value_()), hex(v.vm_flags.value_())) for v in for_each_vma(t.mm)]

    def vtop():
        t = panicked()
        init_mm = prog["init_mm"].address_of_()
        addrs = [prog.symbol("linux_banner").address, prog["init_task"].address_of_().value_(),
                 t.value_(), t.stack.value_()]
        return [(hex(a), hex(follow_phys(init_mm, a).value_())) for a in addrs]

    def panic_row():
        t = panicked()
        return [(int(t.pid), hex(t.value_()), task_cpu(t))]

    def slabs():
        rows = []
        for c in for_each_slab_cache(prog):
            u = slab_cache_usage(c)
            rows.append((hex(c.value_()), c.name.string_().decode(), u.num_slabs, u.num_objs, u.active_objs))
        return rows

    def sysinfo():
        uts = prog["init_uts_ns"].name
        rows = [(k, getattr(uts, f).string_().decode()) for k, f in
                (("RELEASE", "release"), ("VERSION", "version"), ("MACHINE", "machine"), ("NODENAME", "nodename"))]
        rows.append(("CPUS", len(list(for_each_present_cpu(prog)))))
        rows.append(("DATE", ktime_get_real_seconds(prog).value_()))
        rows.append(("LOAD", ",".join(str(prog["avenrun"][i].value_()) for i in range(3))))
        return rows

    def meminfo():
        slab = 0
        for item in ("NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B"):
            slab += global_node_page_state(prog, prog[item])
        return [("TOTAL", totalram_pages(prog)),
                ("FREE", global_zone_page_state(prog, prog["NR_FREE_PAGES"])),
                ("SLAB", slab)]

    def modsyms():
        rows = []
        for m in for_each_module(prog):
            name = m.name.string_().decode()
            rows.extend((name, sym.name, hex(sym.address)) for sym in module_kallsyms(m))
        return sorted(rows)

    record("modules.txt", "NAME\tMODULE\tTEXT_BASE", modules)
    record("sys.txt", "KEY\tVALUE", sysinfo)
    record("meminfo.txt", "KEY\tPAGES", meminfo)
    record("modsyms.txt", "MODULE\tNAME\tADDRESS", modsyms)
    record("runq.txt", "CPU\tCURR\tCURR_PID\tQUEUED", runq)
    record("files.txt", "FD\tFILE\tPATH", files)
    record("vm.txt", "START\tEND\tFLAGS", vm)
    record("vtop.txt", "VADDR\tPADDR", vtop)
    record("panic.txt", "PID\tTASK\tCPU", panic_row)
    record("slabs.txt", "CACHE\tNAME\tSLABS\tTOTAL\tALLOCATED", slabs)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
