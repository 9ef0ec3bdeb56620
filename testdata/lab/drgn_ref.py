"""Records drgn's view of one dump for the lab: task list, kernel log and
every task's stack trace, one file each. Usage: drgn_ref.py VMLINUX OUTDIR DUMP"""
import os
import sys
import traceback

import drgn
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_dmesg
from drgn.helpers.linux.sched import task_state_to_char


def main():
    vmlinux, out, dump = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    prog = drgn.Program()
    prog.set_core_dump(dump)
    prog.load_debug_info([vmlinux])

    def record(name, fn):
        try:
            text = fn()
        except Exception:
            text = "DRGN-ERROR\n" + traceback.format_exc()
            print(f"{name}: {text.splitlines()[-1]}", file=sys.stderr)
        with open(os.path.join(out, name), "w") as f:
            f.write(text)

    def tasks():
        rows = []
        for t in for_each_task(prog):
            rows.append((int(t.pid), int(t.real_parent.pid), int(t.tgid),
                         task_state_to_char(t), t.comm.string_().decode(errors="replace"),
                         hex(t.value_())))
        rows.sort()
        lines = ["PID\tPPID\tTGID\tSTATE\tCOMM\tTASK"]
        lines += ["\t".join(str(c) for c in r) for r in rows]
        return "\n".join(lines) + "\n"

    def dmesg():
        return get_dmesg(prog).decode(errors="replace")

    def stacks():
        parts = []
        for t in sorted(for_each_task(prog), key=lambda t: int(t.pid)):
            head = f"PID {int(t.pid)} TASK {hex(t.value_())} COMM {t.comm.string_().decode(errors='replace')}"
            try:
                trace = str(prog.stack_trace(t))
            except Exception as e:
                trace = f"DRGN-ERROR {type(e).__name__}: {e}"
            parts.append(head + "\n" + trace + "\n")
        return "\n".join(parts)

    record("tasks.txt", tasks)
    record("dmesg.txt", dmesg)
    record("stacks.txt", stacks)


if __name__ == "__main__":
    main()
