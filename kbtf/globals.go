package kbtf

// Globals gives the types of the global variables the kernel views read
// that BTF does not describe (it types only the per-CPU ones, and before
// pahole 1.18 built it, as for Debian's 5.10, none at all): the
// declarations of the kernel's sources, in the form Type takes, with
// array dimensions; "[]" takes its count from the symbol's extent in the
// kernel's symbol table. It is the one place such knowledge lives; a
// variable missing here has no type without the vmlinux (ErrNoType).
var Globals = map[string]string{
	// Tasks, pids, namespaces.
	"init_task":    "struct task_struct",
	"init_pid_ns":  "struct pid_namespace",
	"init_uts_ns":  "struct uts_namespace",
	"panic_cpu":    "atomic_t",
	"tainted_mask": "unsigned long",
	"nr_cpu_ids":   "unsigned int",
	"pid_max":      "int",
	"nr_threads":   "int",
	"linux_banner": "const char []",
	// Per-CPU variables, which BTF types since pahole 1.18 (Debian's 5.10
	// kernel's BTF has no variables).
	"runqueues":            "struct rq",
	"current_task":         "struct task_struct *",
	"hardirq_stack_ptr":    "struct irq_stack *",
	"cea_exception_stacks": "struct cea_exception_stacks *",
	"vm_event_states":      "struct vm_event_state",
	// CPUs.
	"__per_cpu_offset":    "unsigned long []",
	"__cpu_online_mask":   "struct cpumask",
	"__cpu_present_mask":  "struct cpumask",
	"__cpu_possible_mask": "struct cpumask",
	"__cpu_active_mask":   "struct cpumask",
	"cpu_khz":             "unsigned int",
	// Time and load.
	"jiffies_64": "u64",
	"jiffies":    "volatile unsigned long", // the linker's alias of jiffies_64's low word
	"tick_nsec":  "unsigned long",
	"avenrun":    "unsigned long [3]",
	// tk_core is an unnamed struct in kernel/time/timekeeping.c.
	"tk_core": "struct { seqcount_raw_spinlock_t seq; struct timekeeper timekeeper; }",
	// Since 7.x the core timekeeper is the first of timekeeper_data.
	"timekeeper_data": "struct tk_data []",
	// Modules, symbols, system calls.
	"modules":        "struct list_head",
	"btf_modules":    "struct list_head", // each loaded module's BTF (struct btf_module)
	"sys_call_table": "const sys_call_ptr_t []",
	// Memory.
	"node_data":                "struct pglist_data *[]",
	"contig_page_data":         "struct pglist_data",
	"mem_section":              "struct mem_section **",
	"max_pfn":                  "unsigned long",
	"memory_block_size_probed": "unsigned long",
	"high_memory":              "void *",
	"page_offset_base":         "unsigned long",
	"vmemmap_base":             "unsigned long",
	"vmalloc_base":             "unsigned long",
	"_totalram_pages":          "atomic_long_t",
	"totalreserve_pages":       "unsigned long",
	"vm_zone_stat":             "atomic_long_t []",
	"vm_node_stat":             "atomic_long_t []",
	"vm_numa_event":            "atomic_long_t []",
	"vm_numa_stat":             "atomic_long_t []",
	"vm_committed_as":          "struct percpu_counter",
	"sysctl_overcommit_memory": "int",
	"sysctl_overcommit_ratio":  "int",
	"sysctl_overcommit_kbytes": "unsigned long",
	"empty_zero_page":          "unsigned long []",
	"pageflag_names":           "const struct trace_print_flags []",
	"hstates":                  "struct hstate []",
	"hugetlb_max_hstate":       "int",
	"slab_caches":              "struct list_head",
	"vmap_area_root":           "struct rb_root",
	"vmap_area_list":           "struct list_head",
	"free_vmap_area_root":      "struct rb_root",
	"vmap_nodes":               "struct vmap_node *",
	"nr_vmap_nodes":            "unsigned int",
	"memory_subsys":            "struct bus_type",
	"bus_kset":                 "struct kset *",
	// Swap.
	"swap_info":         "struct swap_info_struct *[]",
	"nr_swapfiles":      "unsigned int",
	"swapper_spaces":    "struct address_space *[]",
	"nr_swapper_spaces": "unsigned int []",
	"total_swap_pages":  "long",
	// Files.
	"super_blocks":        "struct list_head",
	"blockdev_superblock": "struct super_block *",
	"all_bdevs":           "struct list_head",
	"dentry_hashtable":    "struct hlist_bl_head *",
	"d_hash_shift":        "unsigned int",
	"init_fs":             "struct fs_struct",
	// The kernel log.
	"prb":              "struct printk_ringbuffer *",
	"log_buf":          "char *",
	"log_buf_len":      "u32",
	"clear_seq":        "u64",
	"printk_rb_static": "struct printk_ringbuffer",
}
