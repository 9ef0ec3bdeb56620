//go:build !plan9

package kbtf_test

import (
	"bytes"
	"debug/elf"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/lab"
	"github.com/vmcoretools/vmcore/kbtf"
	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/vmcore"
)

// modelTypes are the structures the kernel views read, and a few unions,
// enums and typedefs: their layouts from BTF must be DWARF's.
var modelTypes = []string{
	"struct task_struct", "struct thread_info", "struct mm_struct", "struct vm_area_struct",
	"struct list_head", "struct hlist_node", "struct pid", "struct upid", "struct pid_namespace",
	"struct module", "struct kmem_cache", "struct kmem_cache_cpu", "struct kmem_cache_node",
	"struct slab", "struct page", "struct folio", "struct zone", "struct pglist_data", "struct free_area",
	"struct rq", "struct cfs_rq", "struct rt_rq", "struct sched_entity", "struct rb_node", "struct rb_root",
	"struct file", "struct files_struct", "struct fdtable", "struct dentry", "struct inode", "struct path",
	"struct vfsmount", "struct mount", "struct super_block", "struct qstr",
	"struct xarray", "struct xa_node", "struct maple_tree", "struct maple_node", "struct maple_range_64",
	"struct signal_struct", "struct sighand_struct", "struct k_sigaction", "struct sigpending",
	"struct vmap_area", "struct vm_struct", "struct hstate", "struct mem_section", "struct memory_block",
	"struct printk_ringbuffer", "struct prb_desc", "struct printk_info", "struct new_utsname",
	"struct timekeeper", "struct pt_regs", "struct inactive_task_frame", "struct cpu_entry_area",
	"union thread_union", "enum pid_type", "enum pageflags", "enum zone_stat_item", "enum node_stat_item",
	"pid_t", "atomic_t", "atomic_long_t", "spinlock_t", "cpumask_t", "unsigned long", "long unsigned int",
	"unsigned char", "char", "_Bool", "struct task_struct *", "u64",
}

// TestLabTypesMatchDWARF reads each lab kernel's BTF from a dump's memory
// and checks that every type the views use has, from BTF, the layout
// DWARF gives it (crash's struct -o) and the same C declaration, but for
// inner array dimensions of 1, which BTF does not keep.
func TestLabTypesMatchDWARF(t *testing.T) {
	l := lab.Open(t)
	for _, name := range []string{"k61-elf", "k612-kdump-lzo-d31", "k510-kdump-zlib-d31", "ksid-elf"} {
		d := l.Dump(name)
		if d == nil {
			if strings.HasPrefix(name, "k61") { // the other kernels: build.sh without --only-6.1
				t.Errorf("the lab has no %s", name)
			}
			continue
		}
		t.Run(name, func(t *testing.T) {
			dump, err := vmcore.Open(d.Files...)
			if err != nil {
				t.Fatal(err)
			}
			defer dump.Close()
			raw, err := dump.KernelBTF()
			if err != nil {
				t.Fatal(err)
			}
			// The bytes in memory are the vmlinux's .BTF section.
			f, err := elf.Open(d.Vmlinux)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sec := f.Section(".BTF")
			if sec == nil {
				t.Fatal("the vmlinux has no .BTF")
			}
			want, err := sec.Data()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, want) {
				t.Errorf("BTF from memory: %d bytes, not the vmlinux's .BTF (%d bytes)", len(raw), len(want))
			}
			bt, err := kbtf.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if n := bt.Count(); n < 50000 {
				t.Errorf("%d types: too few for a distribution kernel", n)
			}
			dw, err := dwarfsym.Open(d.Vmlinux)
			if err != nil {
				t.Fatal(err)
			}
			defer dw.Close()
			compared := 0
			var absent []string
			for _, name := range modelTypes {
				fromDWARF, err := dw.Type(name)
				if err != nil {
					// Not in this kernel (struct slab before 5.17, the
					// maple tree's before 6.1...): BTF must lack it too.
					absent = append(absent, name)
					tagged := strings.HasPrefix(name, "struct ") || strings.HasPrefix(name, "union ") // not an alias of a base type
					if _, err := bt.Type(name); err == nil && tagged {
						t.Errorf("%s: from BTF, not in DWARF", name)
					}
					continue
				}
				fromBTF, err := bt.Type(name)
				if err != nil {
					t.Errorf("%s: in DWARF, not from BTF: %v", name, err)
					continue
				}
				compared++
				if got, want := ktype.Declare(fromBTF, "x"), ktype.Declare(fromDWARF, "x"); got != want {
					t.Errorf("%s declared %q from BTF, %q from DWARF", name, got, want)
				}
				if fromDWARF.Size() != fromBTF.Size() {
					t.Errorf("%s: size %d from BTF, %d from DWARF", name, fromBTF.Size(), fromDWARF.Size())
				}
				var a, b strings.Builder
				if ktype.WriteLayout(&a, fromDWARF, false) != nil {
					continue // not a struct or union
				}
				if err := ktype.WriteLayout(&b, fromBTF, false); err != nil {
					t.Errorf("%s: layout from BTF: %v", name, err)
					continue
				}
				// pahole wrote an array of arrays whose inner dimension
				// is 1 as one array (xa_node's tags[3][1] is tags[3] in
				// 6.1's and 6.12's BTF; 7.2's keeps both): the same bytes.
				one := strings.NewReplacer("][1];", "];")
				if diff := cmp.Diff(one.Replace(a.String()), one.Replace(b.String())); diff != "" {
					t.Errorf("%s: layout differs (-DWARF +BTF):\n%s", name, diff)
				}
			}
			t.Logf("%d types compared; not in this kernel: %s", compared, strings.Join(absent, ", "))
			if compared < len(modelTypes)*3/4 {
				t.Errorf("%d of %d types compared", compared, len(modelTypes))
			}
		})
	}
}
