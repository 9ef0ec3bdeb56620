package walk

import (
	"debug/dwarf"
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// List walks a list_head ring from its head, yielding the typ that holds
// each node at member, in order: the kernel's
// list_for_each_entry(pos, head, member). head is the struct list_head
// (or a pointer to it) that is not itself an entry, such as
// init_task.tasks or the modules variable; typ is a type name as
// ktype.Source spells it ("struct task_struct"), member a member path in it
// ("tasks", "se.group_node") whose type is struct list_head.
//
// The walk ends when the ring comes back to head. A NULL link, a node seen
// twice (a ring that loops without its head), an unreadable node or more
// than Max entries end it with an *Error after the entries before it.
func List(head value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return listWalk(head, typ, member, "next", opts)
}

// ListReverse walks a list_head ring backwards, through the prev links:
// list_for_each_entry_reverse.
func ListReverse(head value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return listWalk(head, typ, member, "prev", opts)
}

// ListFrom walks the list_head ring that entry is on, through its member,
// without knowing the ring's head, as crash's list command does from a
// structure's address: entry first, then each structure after it, until
// the ring comes back to entry. If the ring has a head that is not embedded
// in such a structure (a list_head variable), the walk yields it too, as
// a structure that is not one: the caller knows how to tell it.
func ListFrom(entry value.Value, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return func(yield func(value.Value, error) bool) {
		w, e, m, linkOff, size, err := fromEntry(entry, "list_head", member, opts)
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		start := e.Addr + uint64(m.Offset)
		w.root = start
		w.seen[start] = struct{}{}
		w.nodes++
		if err := w.count(start, "the first entry"); err != nil || !yield(e, nil) {
			return
		}
		w.ring(start, linkOff, size, "next", e.Type, m.Offset, structName(e.Type), member, yield)
	}
}

func listWalk(head value.Value, typ, member, dir string, opts []Option) iter.Seq2[value.Value, error] {
	return func(yield func(value.Value, error) bool) {
		w, h, linkOff, size, t, off, err := fromHead(head, "list_head", dir, typ, member, "list_head", opts)
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		w.seen[h.Addr] = struct{}{}
		w.ring(h.Addr, linkOff, size, dir, t, off, typ, member, yield)
	}
}

// fromEntry starts a walk from entry, a structure holding a node of
// nodeType at member: the walker, the entry, the member, and the offset and
// size of the node's next link.
func fromEntry(entry value.Value, nodeType, member string, opts []Option) (w *walker, e value.Value, m ktype.Member, linkOff, size int64, err error) {
	if e, err = object(entry, nodeType); err != nil {
		return
	}
	w = newWalker(e.Context(), nodeType, e.Addr, opts)
	if m, err = w.member(e.Type, member); err != nil {
		return
	}
	if err = w.isStruct(m.Type, nodeType, member); err != nil {
		return
	}
	linkOff, size, err = w.pointerMember(m.Type, "next")
	return
}

// fromHead starts a walk from head, a headType whose link member leads to
// nodes of nodeType held by typ at member: the walker, the head, the
// link's offset and size, typ and the node's offset in it.
func fromHead(head value.Value, headType, link, typ, member, nodeType string, opts []Option) (w *walker, h value.Value, linkOff, size int64, t dwarf.Type, off int64, err error) {
	if h, err = object(head, headType); err != nil {
		return
	}
	w = newWalker(h.Context(), headType, h.Addr, opts)
	if err = w.isStruct(h.Type, headType, "head"); err != nil {
		return
	}
	if linkOff, size, err = w.pointerMember(h.Type, link); err != nil {
		return
	}
	if t, off, err = w.container(typ, member); err != nil {
		return
	}
	err = w.memberIs(t, member, nodeType)
	return
}

// ring follows the link at linkOff from start until it comes back to
// start, yielding the container of each node. A node's link is read
// before the node is yielded, so that every entry yielded is at least
// readable there.
func (w *walker) ring(start uint64, linkOff, size int64, dir string, t dwarf.Type, off int64, typ, member string, yield func(value.Value, error) bool) {
	cur, err := w.readWord(start+uint64(linkOff), size, "list_head."+dir+" of the head")
	if err != nil {
		yield(value.Value{}, err)
		return
	}
	prev := start
	for n := 0; cur != start; n++ {
		if cur == 0 {
			yield(value.Value{}, w.fail(prev+uint64(linkOff), "list_head."+dir, fmt.Errorf("%w: NULL %s pointer after %d entries", ErrCorrupt, dir, n)))
			return
		}
		if err := w.visit(cur, fmt.Sprintf("entry %d (from %#x)", n, prev)); err != nil {
			yield(value.Value{}, err)
			return
		}
		next, err := w.readWord(cur+uint64(linkOff), size, fmt.Sprintf("list_head.%s of entry %d", dir, n))
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		if err := w.count(cur, fmt.Sprintf("entry %d", n)); err != nil {
			yield(value.Value{}, err)
			return
		}
		v := w.c.Typed(t, cur-uint64(off), fmt.Sprintf("container_of(%#x, %s, %s)", cur, typ, member))
		if !yield(v, nil) {
			return
		}
		prev, cur = cur, next
	}
}

// HList walks an hlist_head's chain from its first node, yielding the typ
// that holds each hlist_node at member: hlist_for_each_entry. The chain
// ends at a NULL next.
func HList(head value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return hlistWalk(head, typ, member, "hlist_head", "hlist_node", opts)
}

// HListNulls walks an hlist_nulls_head's chain, which ends at a "nulls"
// marker (an odd pointer) instead of NULL: hlist_nulls_for_each_entry.
func HListNulls(head value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return hlistWalk(head, typ, member, "hlist_nulls_head", "hlist_nulls_node", opts)
}

// HListBL walks a bit-locked hlist (struct hlist_bl_head, such as the
// dentry hash table's chains), whose first pointer carries the lock in its
// low bit: hlist_bl_for_each_entry.
func HListBL(head value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return hlistWalk(head, typ, member, "hlist_bl_head", "hlist_bl_node", opts)
}

// LList walks a lock-less list (struct llist_head) from its first node,
// yielding the typ that holds each llist_node at member:
// llist_for_each_entry. The chain ends at a NULL next.
func LList(head value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return hlistWalk(head, typ, member, "llist_head", "llist_node", opts)
}

// HListFrom walks an hlist chain from entry, which holds its hlist_node at
// member: entry first, then every entry after it
// (hlist_for_each_entry_from).
func HListFrom(entry value.Value, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return func(yield func(value.Value, error) bool) {
		w, e, m, nextOff, size, err := fromEntry(entry, "hlist_node", member, opts)
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		first := e.Addr + uint64(m.Offset)
		w.root = first
		w.chain(first, nextOff, size, false, e.Type, m.Offset, structName(e.Type), member, yield)
	}
}

func hlistWalk(head value.Value, typ, member, headType, nodeType string, opts []Option) iter.Seq2[value.Value, error] {
	return func(yield func(value.Value, error) bool) {
		w, h, firstOff, size, t, off, err := fromHead(head, headType, "first", typ, member, nodeType, opts)
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		m, _ := ktype.FindMember(t, member)
		nextOff, nsize, err := w.pointerMember(m.Type, "next")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		first, err := w.readWord(h.Addr+uint64(firstOff), size, headType+".first")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		if headType == "hlist_bl_head" {
			first &^= 1 // LIST_BL_LOCKMASK
		}
		w.chain(first, nextOff, nsize, nodeType == "hlist_nulls_node", t, off, typ, member, yield)
	}
}

// chain follows next links from node p to a NULL (or, for nulls lists, an
// odd marker), yielding each node's container once its link has been read.
func (w *walker) chain(p uint64, nextOff, size int64, nulls bool, t dwarf.Type, off int64, typ, member string, yield func(value.Value, error) bool) {
	prev := w.root
	for n := 0; p != 0 && !(nulls && p&1 != 0); n++ {
		if err := w.visit(p, fmt.Sprintf("node %d (from %#x)", n, prev)); err != nil {
			yield(value.Value{}, err)
			return
		}
		next, err := w.readWord(p+uint64(nextOff), size, fmt.Sprintf("next of node %d", n))
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		if err := w.count(p, fmt.Sprintf("node %d", n)); err != nil {
			yield(value.Value{}, err)
			return
		}
		v := w.c.Typed(t, p-uint64(off), fmt.Sprintf("container_of(%#x, %s, %s)", p, typ, member))
		if !yield(v, nil) {
			return
		}
		prev, p = p, next
	}
}

// isStruct checks that t is struct name.
func (w *walker) isStruct(t dwarf.Type, name, what string) error {
	st, ok := ktype.Strip(t).(*dwarf.StructType)
	if !ok || st.StructName != name {
		return &Error{Walk: w.kind, Root: w.root, Err: fmt.Errorf("%w: %s is a %s, not a struct %s", ErrLayout, what, ktype.Declare(t, ""), name)}
	}
	return nil
}

// memberIs checks that member of t is a struct name.
func (w *walker) memberIs(t dwarf.Type, member, name string) error {
	m, err := w.member(t, member)
	if err != nil {
		return err
	}
	return w.isStruct(m.Type, name, structName(t)+"."+member)
}
