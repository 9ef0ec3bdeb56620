package walk

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// DefaultMax is the number of elements a walk yields before it stops with
// ErrLimit, unless Max says otherwise.
const DefaultMax = 1 << 20

// Errors that a walk's *Error wraps when the structure itself is wrong
// (a read that fails wraps the reader's error instead: *value.ReadError,
// and through it the dump's, such as physmem.ErrExcluded).
var (
	// ErrCycle: the walk came back to an element or node it had
	// already visited (a list that loops without its head, a tree
	// whose links lead back up, a node shared by two parents).
	ErrCycle = errors.New("cycle")
	// ErrLimit: more elements or nodes than the walk's maximum (Max).
	ErrLimit = errors.New("more than the limit")
	// ErrCorrupt: a link or a node that cannot be right: a NULL where a
	// ring must go on, a tree deeper than any valid one, a node whose
	// shift or type is impossible, an index past the end of a node.
	ErrCorrupt = errors.New("corrupt")
	// ErrLayout: the kernel's types lack a member or a type the walk
	// needs (an older or newer kernel than the walker knows).
	ErrLayout = errors.New("unsupported layout")
)

// Error is a walk that stopped early: which structure, where it stopped,
// what it was reading and why. The elements yielded before it are valid.
type Error struct {
	Walk string // the kind of structure: "list_head", "rb_root", "xarray", ...
	Root uint64 // the address of the head or root walked
	Addr uint64 // where the walk stopped: the address read or the node at fault
	What string // what was being read, or what is wrong there
	Err  error  // ErrCycle, ErrLimit, ErrCorrupt, ErrLayout, or the read's error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("walk: ")
	b.WriteString(e.Walk)
	if e.Root != 0 {
		fmt.Fprintf(&b, " at %#x", e.Root)
	}
	if e.What != "" {
		b.WriteString(": ")
		b.WriteString(e.What)
	}
	if e.Addr != 0 {
		fmt.Fprintf(&b, " at %#x", e.Addr)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Option changes how a walk runs.
type Option func(*options)

type options struct {
	max int
}

// Max bounds a walk to n elements (n <= 0 means DefaultMax): a walk that
// would go further stops with ErrLimit after yielding the first n. The
// nodes a walk reads are bounded too, to 2n plus a tree's greatest depth.
func Max(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.max = n
		}
	}
}

func getOptions(opts []Option) options {
	o := options{max: DefaultMax}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// Collect runs a walk to its end and returns what it yielded, with the
// error that stopped it, if any: the elements before an error are kept.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ContainerOf returns the typ (a type name as ktype.Source spells it,
// "struct task_struct") that holds ptr at member: the kernel's
// container_of(ptr, typ, member). ptr is a pointer to the member or the
// member itself (its address is used). It is value.Value.ContainerOf, here
// so that the walkers' callers find it beside them.
func ContainerOf(ptr value.Value, typ, member string) (value.Value, error) {
	if ptr.Context() == nil {
		return value.Value{}, errors.New("walk: container_of of a value without a context")
	}
	return ptr.ContainerOf(typ, member)
}

// walker holds what every walk shares: the context, its bounds, the
// error's naming, and the reads of raw words.
type walker struct {
	c     *value.Context
	order binary.ByteOrder
	max   int
	kind  string
	root  uint64
	seen  map[uint64]struct{}
	nodes int // nodes visited
	elems int // elements yielded
}

func newWalker(c *value.Context, kind string, root uint64, opts []Option) *walker {
	o := getOptions(opts)
	order := binary.ByteOrder(binary.LittleEndian)
	if c != nil && c.ByteOrder != nil {
		order = c.ByteOrder
	}
	return &walker{c: c, order: order, max: o.max, kind: kind, root: root, seen: map[uint64]struct{}{}}
}

func (w *walker) fail(addr uint64, what string, err error) *Error {
	return &Error{Walk: w.kind, Root: w.root, Addr: addr, What: what, Err: err}
}

func (w *walker) layout(err error) *Error {
	return &Error{Walk: w.kind, Root: w.root, Err: fmt.Errorf("%w: %v", ErrLayout, err)}
}

// visit records addr as seen, failing on a second visit and past the
// node budget: twice the element bound, plus the depth of the deepest
// tree (a tree's inner nodes and the path to its next element are read
// before the element is yielded).
func (w *walker) visit(addr uint64, what string) error {
	if _, ok := w.seen[addr]; ok {
		return w.fail(addr, what, ErrCycle)
	}
	if budget := 2*w.max + maxRBDepth; w.nodes >= budget {
		return w.fail(addr, what, fmt.Errorf("%w (%d nodes read)", ErrLimit, budget))
	}
	w.nodes++
	w.seen[addr] = struct{}{}
	return nil
}

// count accounts for one more element about to be yielded, failing
// when that would pass the walk's maximum. addr is the element's.
func (w *walker) count(addr uint64, what string) error {
	if w.elems >= w.max {
		return w.fail(addr, what, fmt.Errorf("%w (%d)", ErrLimit, w.max))
	}
	w.elems++
	return nil
}

// read fills p from memory at addr.
func (w *walker) read(p []byte, addr uint64, what string) error {
	if err := w.c.Read(p, addr, what); err != nil {
		return w.fail(addr, what, err)
	}
	return nil
}

// word decodes a size-byte unsigned integer at off in b (0 if outside).
func (w *walker) word(b []byte, off, size int64) uint64 { return value.UintAt(b, off, size, w.order) }

// readWord reads one size-byte word at addr.
func (w *walker) readWord(addr uint64, size int64, what string) (uint64, error) {
	var b [8]byte
	if size <= 0 || size > 8 {
		return 0, w.fail(addr, what, fmt.Errorf("%w: a %d-byte word", ErrLayout, size))
	}
	if err := w.read(b[:size], addr, what); err != nil {
		return 0, err
	}
	return w.word(b[:], 0, size), nil
}

// object returns the object v stands for: v itself, or what v points to
// when it is a pointer. A NULL pointer, a constant or a zero Value is an
// *Error of the walk kind.
func object(v value.Value, kind string) (value.Value, error) {
	fail := func(err error) (value.Value, error) {
		return value.Value{}, &Error{Walk: kind, Root: v.Addr, What: "the start of the walk", Err: err}
	}
	if v.Context() == nil || v.Type == nil {
		return fail(errors.New("a zero value.Value (no context or type)"))
	}
	if _, ok := ktype.Strip(v.Type).(*dwarf.PtrType); ok {
		d, err := v.Deref()
		if err != nil {
			return fail(err)
		}
		return d, nil
	}
	if v.IsConstant() {
		return fail(fmt.Errorf("%s is a constant, not an object in memory", v.Expr))
	}
	return v, nil
}

// structName is the C name of v's type after typedefs: "struct list_head".
func structName(t dwarf.Type) string {
	if st, ok := ktype.Strip(t).(*dwarf.StructType); ok {
		return st.Kind + " " + st.StructName
	}
	return ktype.Declare(t, "")
}

// member finds path in t, as a layout error when it is missing.
func (w *walker) member(t dwarf.Type, path string) (ktype.Member, error) {
	m, err := ktype.FindMember(t, path)
	if err != nil {
		return m, w.layout(err)
	}
	return m, nil
}

// pointerMember finds a pointer-sized member, returning its offset and
// size.
func (w *walker) pointerMember(t dwarf.Type, path string) (int64, int64, error) {
	m, err := w.member(t, path)
	if err != nil {
		return 0, 0, err
	}
	n := m.Type.Size()
	if n != 4 && n != 8 {
		return 0, 0, w.layout(fmt.Errorf("%s.%s is %d bytes, not a pointer", structName(t), path, n))
	}
	return m.Offset, n, nil
}

// container resolves typ and the offset of member in it: what turns a
// link's address into its entry's.
func (w *walker) container(typ, member string) (dwarf.Type, int64, error) {
	t, err := w.c.Types.Type(typ)
	if err != nil {
		return nil, 0, w.layout(err)
	}
	m, err := w.member(t, member)
	if err != nil {
		return nil, 0, err
	}
	return t, m.Offset, nil
}

// sourceType looks a type up by name, as a layout error when missing.
func (w *walker) sourceType(name string) (dwarf.Type, error) {
	t, err := w.c.Types.Type(name)
	if err != nil {
		return nil, w.layout(err)
	}
	return t, nil
}
