package hostile

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/vmcore"
)

// MemoryVariants breaks kernel structures in the memory of an ELF dump
// (uncompressed, so that a physical address has a file offset): the
// printk ring, the task list, a run queue and the module list, found
// through k, the same dump paired with its vmlinux. Each variant writes
// garbage, a cycle or an extreme count at one structure's address.
// Structures that could not be found or damaged are listed in problems.
func MemoryVariants(k *vmcore.Kernel, base string) (vs []Variant, problems []string, err error) {
	f, err := elf.Open(base)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var loads []*elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads = append(loads, p)
		}
	}
	o := binary.LittleEndian
	// at turns a kernel virtual address into the file offset of its
	// bytes; patch adds a variant writing data there.
	// fileOff is the file offset of the bytes of kernel virtual address
	// vaddr, n of them.
	fileOff := func(name string, vaddr uint64, n int) (int64, bool) {
		pa, _, err := k.Virt.Translate(vaddr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			return 0, false
		}
		for _, p := range loads {
			if pa >= p.Paddr && pa+uint64(n) <= p.Paddr+p.Filesz {
				return int64(p.Off + pa - p.Paddr), true
			}
		}
		problems = append(problems, fmt.Sprintf("%s: physical %#x is not in the file", name, pa))
		return 0, false
	}
	patch := func(class, name string, vaddr uint64, data []byte) {
		if off, ok := fileOff(name, vaddr, len(data)); ok {
			vs = append(vs, Patched(class, base, name, Patch{off, data}))
		}
	}
	member := func(v value.Value, path string) (value.Value, bool) {
		m, err := v.Member(path)
		if err != nil {
			problems = append(problems, err.Error())
		}
		return m, err == nil
	}
	ptr := func(v value.Value) uint64 {
		u, err := v.Uint()
		if err != nil {
			problems = append(problems, err.Error())
		}
		return u
	}
	bad := u64(0xdead000000000100, o)

	// The printk ring (5.10+): its descriptors, its text, its counts.
	if prb, err := k.Var("prb"); err == nil {
		if rb, err := prb.Deref(); err == nil {
			if d, ok := member(rb, "desc_ring.descs"); ok {
				descs := ptr(d)
				patch("printk", "printk descriptors overwritten", descs, garbage(4096, 1))
				// Every descriptor's text pointing at one block.
				if dt, err := d.Deref(); err == nil {
					if lpos, ok := member(dt, "text_blk_lpos"); ok {
						size := int(dt.Type.Size())
						one := make([]byte, 16)
						if err := k.Values.Read(one, lpos.Addr, "text_blk_lpos"); err == nil {
							// Only the lpos bytes of 64 descriptors: each
							// keeps its state word.
							off := lpos.Addr - dt.Addr
							var ps []Patch
							for i := 0; i < 64; i++ {
								if at, ok := fileOff("printk descriptor", descs+uint64(i*size)+off, len(one)); ok {
									ps = append(ps, Patch{at, one})
								}
							}
							if len(ps) > 0 {
								vs = append(vs, Patched("printk", base, "64 printk descriptors' text at descriptor 0's block", ps...))
							}
						}
					}
				}
			}
			if c, ok := member(rb, "desc_ring.count_bits"); ok {
				patch("printk", "printk desc_ring.count_bits 60", c.Addr, u32(60, o))
			}
			if h, ok := member(rb, "desc_ring.head_id"); ok {
				patch("printk", "printk desc_ring.head_id garbage", h.Addr, u64(^uint64(0)>>1, o))
			}
			if t, ok := member(rb, "text_data_ring.data"); ok {
				patch("printk", "printk text overwritten", ptr(t), garbage(8192, 2))
			}
			if s, ok := member(rb, "text_data_ring.size_bits"); ok {
				patch("printk", "printk text_data_ring.size_bits 63", s.Addr, u32(63, o))
			}
		}
	}

	// The task list: a garbage link, a cycle, an empty list.
	if it, err := k.Var("init_task"); err == nil {
		if tl, ok := member(it, "tasks"); ok {
			patch("tasks", "init_task.tasks.next garbage", tl.Addr, bad)
			patch("tasks", "init_task.tasks.next to itself", tl.Addr, u64(tl.Addr, o))
			var second uint64
			if nx, ok := member(it, "tasks.next"); ok {
				second = ptr(nx)
			}
			patch("tasks", "the second task's tasks.next to itself", second, u64(second, o))
			patch("tasks", "the second task's tasks.next garbage", second, bad)
			if pid, ok := member(it, "pid"); ok {
				off := pid.Addr - it.Addr
				toff := tl.Addr - it.Addr
				patch("tasks", "the second task's pid -1", second-toff+off, u32(^uint32(0), o))
			}
			if th, ok := member(it, "thread_group"); ok {
				patch("tasks", "init_task.thread_group.next garbage", th.Addr, bad)
			}
		}
	}

	// A run queue: its current task, its CFS tree, its count.
	if rq, err := k.PerCPU("runqueues", 0); err == nil {
		if c, ok := member(rq, "curr"); ok {
			patch("runq", "runqueues[0].curr garbage", c.Addr, bad)
		}
		if t, ok := member(rq, "cfs.tasks_timeline.rb_root.rb_node"); ok {
			patch("runq", "runqueues[0].cfs tree root garbage", t.Addr, bad)
			patch("runq", "runqueues[0].cfs tree root to itself", t.Addr, u64(t.Addr, o))
		}
		if n, ok := member(rq, "nr_running"); ok {
			patch("runq", "runqueues[0].nr_running 2^31", n.Addr, u32(1<<31, o))
		}
	}

	// The module list: a garbage link, a cycle, a name without its NUL.
	if mods, err := k.Var("modules"); err == nil {
		if nx, ok := member(mods, "next"); ok {
			patch("modules", "modules.next garbage", nx.Addr, bad)
			first := ptr(nx)
			if first != nx.Addr {
				patch("modules", "the first module's list.next to itself", first, u64(first, o))
				// The struct module at 0 gives the members' offsets.
				if m, err := k.At("struct module", 0); err == nil {
					if l, ok := member(m, "list"); ok {
						if n, ok := member(m, "name"); ok {
							start := first - l.Addr
							patch("modules", "the first module's name without a NUL", start+n.Addr, bytes.Repeat([]byte{'A'}, int(n.Type.Size())))
						}
					}
				}
			}
		}
	}
	if len(vs) == 0 {
		return nil, problems, fmt.Errorf("hostile: no kernel structure found to damage: %v", problems)
	}
	return vs, problems, nil
}
