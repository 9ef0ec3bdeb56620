// Package walk iterates the kernel's containers over typed values, as
// drgn's helpers and the kernel's own for_each macros do: lists
// (list_head, hlist, hlist_nulls, hlist_bl, llist), red-black trees (rb_root,
// rb_root_cached), xarrays and radix trees, idrs, maple trees, cpumasks
// and per-CPU variables, with container_of beside them. It is what a user
// of the library writes an analysis with:
//
//	k, _ := vmcore.OpenKernel(dump, vmlinux, vmcore.KernelOptions{})
//	it, _ := k.Var("init_task")
//	head, _ := it.Member("tasks")
//	for task, err := range walk.List(head, "struct task_struct", "tasks") {
//		if err != nil {
//			return err // the tasks before it were yielded
//		}
//		comm, _ := task.Member("comm")
//		...
//	}
//
// Every walker is a Go iterator, iter.Seq2[T, error], over the values
// package value reads: a list or a tree yields the value.Value of each
// entry, typed as the caller named it ("struct task_struct"); the indexed
// structures (XArray, RadixTree, IDR, MapleTree) yield an Entry, the
// indices it covers and the word stored, which Entry.As types; CPUs
// yields CPU numbers and PerCPU a CPUValue for each. The walks compose:
// PerCPU(c, "runqueues", OnlineCPUs(c)) is each online CPU's runqueue,
// and RBTree of one's cfs.tasks_timeline its queued entities. Collect
// gathers a walk into a slice.
//
// Lookups read only the nodes on their way: XArrayLoad (xa_load),
// IDRFind (idr_find), MapleLoad (mtree_load: the VMA that maps an
// address, from an mm's mm_mt) and RBFind (rb_find, with the caller's
// comparison).
//
// A walk starts from a value: a head, a root, a tree (or a pointer to
// one), read from a variable or a member (Context.Var, Value.Member).
// Kernel structures are read by type and member name through the
// context's ktype.Source (list_head.next, xa_node.slots, struct
// maple_node, enum maple_type); no offset is written here. A kernel
// whose types lack what a walker needs gives an ErrLayout error naming
// the member.
//
// Every walk is bounded and never panics on bad memory. It yields at most
// Max elements (DefaultMax unless told) and reads a bounded number of
// nodes; it remembers the nodes it visited, so a list that loops without
// its head, a tree whose links lead back up or a node shared by two
// parents ends it with ErrCycle; a NULL in a ring, a tree deeper than a
// valid one, an xarray node whose shift does not fit its place or a maple
// node of an unknown type or with pivots out of order end it with
// ErrCorrupt; a read that fails ends it with the reader's error (a
// *value.ReadError, and through it the dump's, such as an excluded page).
// All of them come as an *Error that names the structure walked, the
// address where the walk stopped and what it was reading there; the
// elements yielded before it are valid, and breaking out of the loop
// stops a walk at once.
package walk
