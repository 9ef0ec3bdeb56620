package walk

import (
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

func rbWalk(root value.Value, typ, member string, reverse bool, opts []Option) iter.Seq2[value.Value, error] {
	return func(yield func(value.Value, error) bool) {
		r, err := object(root, "rb_root")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		w := newWalker(r.Context(), "rb_root", r.Addr, opts)
		rootType := r.Type
		rootAddr := r.Addr
		if w.isStruct(r.Type, "rb_root_cached", "root") == nil {
			m, err := w.member(r.Type, "rb_root")
			if err != nil {
				yield(value.Value{}, err)
				return
			}
			rootType, rootAddr = m.Type, r.Addr+uint64(m.Offset)
		}
		if err := w.isStruct(rootType, "rb_root", "root"); err != nil {
			yield(value.Value{}, err)
			return
		}
		nodeOff, size, err := w.pointerMember(rootType, "rb_node")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		t, off, err := w.container(typ, member)
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		if err := w.memberIs(t, member, "rb_node"); err != nil {
			yield(value.Value{}, err)
			return
		}
		nt, err := w.sourceType("struct rb_node")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		left, _, err := w.pointerMember(nt, "rb_left")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		right, _, err := w.pointerMember(nt, "rb_right")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		if reverse {
			left, right = right, left
		}
		nodeSize := max(left, right) + size
		top, err := w.readWord(rootAddr+uint64(nodeOff), size, "rb_root.rb_node")
		if err != nil {
			yield(value.Value{}, err)
			return
		}
		// In-order with an explicit stack of (node, its other child):
		// each node is read once, and the stack's height is the depth.
		type frame struct{ node, other uint64 }
		var stack []frame
		buf := make([]byte, nodeSize)
		n, from := top, rootAddr
		for n != 0 || len(stack) > 0 {
			for n != 0 {
				if err := w.visit(n, fmt.Sprintf("rb_node (child of %#x)", from)); err != nil {
					yield(value.Value{}, err)
					return
				}
				if len(stack) >= maxRBDepth {
					yield(value.Value{}, w.fail(n, "rb_node", fmt.Errorf("%w: deeper than %d levels", ErrCorrupt, maxRBDepth)))
					return
				}
				if err := w.read(buf, n, "rb_node"); err != nil {
					yield(value.Value{}, err)
					return
				}
				stack = append(stack, frame{n, w.word(buf, right, size)})
				from, n = n, w.word(buf, left, size)
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if err := w.count(f.node, "rb_node"); err != nil {
				yield(value.Value{}, err)
				return
			}
			v := w.c.Typed(t, f.node-uint64(off), fmt.Sprintf("container_of(%#x, %s, %s)", f.node, typ, member))
			if !yield(v, nil) {
				return
			}
			from, n = f.node, f.other
		}
	}
}
