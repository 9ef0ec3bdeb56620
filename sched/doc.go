// Package sched reads each CPU's run queue at the time of a dump, as
// crash's runq shows it: the struct rq, the task running there, the tasks
// queued in the real-time priority array (by priority, group run queues
// included) and the CFS red-black tree in order (leftmost, the next to run,
// first), with the task groups (CONFIG_FAIR_GROUP_SCHED) whose entities
// own run queues of their own.
//
// RunQueues reads them for a set of CPUs through a value.Context, by type
// and member name only (ktype.Source), and names the queued tasks from a
// tasks.Table. Every walk is bounded: a tree that loops, a group nested
// too deep or a queue longer than the limit gives an error naming the
// address, with the queues and tasks read before it.
package sched
