package walk

import (
	"debug/dwarf"
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/value"
)

// maxRBDepth bounds a red-black tree's height: a valid tree of n nodes is
// at most 2*log2(n+1) high, so 128 holds any tree that fits in 64 bits.
const maxRBDepth = 128

// RBTree walks a red-black tree in order (rb_first, then rb_next),
// yielding the typ that holds each rb_node at member. root is a struct
// rb_root or struct rb_root_cached (or a pointer to either), such as a
// runqueue's cfs.tasks_timeline or vmap_area_root.
//
// A node reached twice, a tree deeper than a valid one, an unreadable node
// or more than Max nodes end the walk with an *Error.
func RBTree(root value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return rbWalk(root, typ, member, false, opts)
}

// RBTreeReverse walks a red-black tree from its last node to its first
// (rb_last, then rb_prev).
func RBTreeReverse(root value.Value, typ, member string, opts ...Option) iter.Seq2[value.Value, error] {
	return rbWalk(root, typ, member, true, opts)
}

// rbTree is what a walk or a search of one red-black tree needs.
type rbTree struct {
	*walker
	top         uint64 // the root node
	from        uint64 // where top was read
	t           dwarf.Type
	off         int64 // of member in t
	left, right int64 // of rb_left, rb_right in struct rb_node
	size        int64 // of a pointer
	typ, member string
}

// rbOpen checks a tree's types and reads its root node.
func rbOpen(root value.Value, typ, member string, opts []Option) (*rbTree, error) {
	r, err := object(root, "rb_root")
	if err != nil {
		return nil, err
	}
	w := newWalker(r.Context(), "rb_root", r.Addr, opts)
	rootType, rootAddr := r.Type, r.Addr
	if w.isStruct(r.Type, "rb_root_cached", "root") == nil {
		m, err := w.member(r.Type, "rb_root")
		if err != nil {
			return nil, err
		}
		rootType, rootAddr = m.Type, r.Addr+uint64(m.Offset)
	}
	if err := w.isStruct(rootType, "rb_root", "root"); err != nil {
		return nil, err
	}
	nodeOff, size, err := w.pointerMember(rootType, "rb_node")
	if err != nil {
		return nil, err
	}
	rt := &rbTree{walker: w, from: rootAddr, size: size, typ: typ, member: member}
	if rt.t, rt.off, err = w.container(typ, member); err != nil {
		return nil, err
	}
	if err := w.memberIs(rt.t, member, "rb_node"); err != nil {
		return nil, err
	}
	nt, err := w.sourceType("struct rb_node")
	if err != nil {
		return nil, err
	}
	if rt.left, _, err = w.pointerMember(nt, "rb_left"); err != nil {
		return nil, err
	}
	if rt.right, _, err = w.pointerMember(nt, "rb_right"); err != nil {
		return nil, err
	}
	if rt.top, err = w.readWord(rootAddr+uint64(nodeOff), size, "rb_root.rb_node"); err != nil {
		return nil, err
	}
	return rt, nil
}

// entry is the typ holding node n.
func (rt *rbTree) entry(n uint64) value.Value {
	return rt.c.Typed(rt.t, n-uint64(rt.off), fmt.Sprintf("container_of(%#x, %s, %s)", n, rt.typ, rt.member))
}

func rbWalk(root value.Value, typ, member string, reverse bool, opts []Option) iter.Seq2[value.Value, error] {
	return func(yield func(value.Value, error) bool) {
		rt, err := rbOpen(root, typ, member, opts)
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		left, right, size := rt.left, rt.right, rt.size
		if reverse {
			left, right = right, left
		}
		nodeSize := max(left, right) + size
		// In-order with an explicit stack of (node, its other child):
		// each node is read once, and the stack's height is the depth.
		type frame struct{ node, other uint64 }
		var stack []frame
		buf := make([]byte, nodeSize)
		n, from := rt.top, rt.from
		for n != 0 || len(stack) > 0 {
			for n != 0 {
				if err := rt.visit(n, fmt.Sprintf("rb_node (child of %#x)", from)); err != nil {
					yield(value.Value{}, err)
					return
				}
				if len(stack) >= maxRBDepth {
					yield(value.Value{}, rt.fail(n, "rb_node", fmt.Errorf("%w: deeper than %d levels", ErrCorrupt, maxRBDepth)))
					return
				}
				if err := rt.read(buf, n, "rb_node"); err != nil {
					yield(value.Value{}, err)
					return
				}
				stack = append(stack, frame{n, rt.word(buf, right, size)})
				from, n = n, rt.word(buf, left, size)
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if err := rt.count(f.node, "rb_node"); err != nil {
				yield(value.Value{}, err)
				return
			}
			if !yield(rt.entry(f.node), nil) {
				return
			}
			from, n = f.node, f.other
		}
	}
}

// RBFind searches a red-black tree ordered by a key, as the kernel's
// rb_find does: cmp compares the key sought with an entry (the typ that
// holds each rb_node at member), returning a negative number when the key
// sorts before the entry, positive after it, and 0 for the entry sought.
// ok is false when no entry matches. An error of cmp ends the search with
// it.
func RBFind(root value.Value, typ, member string, cmp func(value.Value) (int, error), opts ...Option) (v value.Value, ok bool, err error) {
	rt, err := rbOpen(root, typ, member, opts)
	if err != nil {
		return value.Value{}, false, err
	}
	n, from := rt.top, rt.from
	for depth := 0; n != 0; depth++ {
		if depth >= maxRBDepth {
			return value.Value{}, false, rt.fail(n, "rb_node", fmt.Errorf("%w: deeper than %d levels", ErrCorrupt, maxRBDepth))
		}
		if err := rt.visit(n, fmt.Sprintf("rb_node (child of %#x)", from)); err != nil {
			return value.Value{}, false, err
		}
		v := rt.entry(n)
		c, err := cmp(v)
		if err != nil {
			return value.Value{}, false, err
		}
		if c == 0 {
			return v, true, nil
		}
		link := rt.right
		if c < 0 {
			link = rt.left
		}
		from = n
		if n, err = rt.readWord(n+uint64(link), rt.size, "rb_node child"); err != nil {
			return value.Value{}, false, err
		}
	}
	return value.Value{}, false, nil
}

// RBNode is a node of a red-black tree as RBNodes meets it.
type RBNode struct {
	// Addr is the struct rb_node's address.
	Addr uint64
	// Path is the way from the top node: "l" or "r" for each child
	// taken, empty for the top node itself. crash's tree -p prints it
	// after "root".
	Path string
}

// RBOrder is the order in which RBNodes yields a tree's nodes.
type RBOrder int

const (
	// InOrder is the tree's sorted order: a node's left subtree, the
	// node, its right subtree (rb_first, then rb_next).
	InOrder RBOrder = iota
	// PreOrder yields a node before its left subtree and then its right
	// subtree: the order crash's tree prints by default.
	PreOrder
)

// RBNodes walks the raw red-black tree under the struct rb_node at top
// (the word an rb_root's rb_node holds, or any node of a tree), yielding
// each node's address and place. It needs only struct rb_node from the
// types; RBTree walks a typed tree and yields its entries.
//
// A node reached twice, a tree deeper than a valid one, an unreadable node
// or more than Max nodes end the walk with an *Error.
func RBNodes(c *value.Context, top uint64, order RBOrder, opts ...Option) iter.Seq2[RBNode, error] {
	return func(yield func(RBNode, error) bool) {
		w := newWalker(c, "rb_node", top, opts)
		nt, err := w.sourceType("struct rb_node")
		if err != nil {
			yield(RBNode{}, err)
			return
		}
		left, size, err := w.pointerMember(nt, "rb_left")
		if err != nil {
			yield(RBNode{}, err)
			return
		}
		right, _, err := w.pointerMember(nt, "rb_right")
		if err != nil {
			yield(RBNode{}, err)
			return
		}
		if top == 0 {
			return
		}
		buf := make([]byte, max(left, right)+size)
		// Each frame is a node still to read, or (read) one whose turn to
		// be yielded has come.
		type frame struct {
			node, from uint64
			path       string
			read       bool
		}
		stack := []frame{{node: top, from: top}}
		for len(stack) > 0 {
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.read {
				if err := w.count(f.node, "rb_node"); err != nil {
					yield(RBNode{}, err)
					return
				}
				if !yield(RBNode{Addr: f.node, Path: f.path}, nil) {
					return
				}
				continue
			}
			if len(f.path) >= maxRBDepth {
				yield(RBNode{}, w.fail(f.node, "rb_node", fmt.Errorf("%w: deeper than %d levels", ErrCorrupt, maxRBDepth)))
				return
			}
			if err := w.visit(f.node, fmt.Sprintf("rb_node (child of %#x)", f.from)); err != nil {
				yield(RBNode{}, err)
				return
			}
			if err := w.read(buf, f.node, "rb_node"); err != nil {
				yield(RBNode{}, err)
				return
			}
			l, r := w.word(buf, left, size), w.word(buf, right, size)
			// Pushed in reverse of the order wanted.
			if r != 0 {
				stack = append(stack, frame{node: r, from: f.node, path: f.path + "r"})
			}
			if order == InOrder {
				stack = append(stack, frame{node: f.node, path: f.path, read: true})
			}
			if l != 0 {
				stack = append(stack, frame{node: l, from: f.node, path: f.path + "l"})
			}
			if order == PreOrder {
				stack = append(stack, frame{node: f.node, path: f.path, read: true})
			}
		}
	}
}
