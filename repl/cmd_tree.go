package repl

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

func init() {
	register(&Command{
		Name: "tree",
		Usage: "[-t [radix|xarray|rbtree|maple]] [-r offset] [-[s|S] struct[.member[,member]]]\n" +
			"-[x|d] [-o offset] [-l] [-p] [-v] [-N] start",
		Summary: "display radix tree, XArray, red-black tree or maple tree",
		Help: `Walks a tree through memory and prints the address of each entry, as
crash does; with -s, each entry's structure or the named members. Every walk
is bounded (1,048,576 entries); a node met twice or an unreadable node ends
it with an error naming the node.

  -t type  rbtree (the default), xarray, radix or maple; "rb", "x", "ra"
           and "m" are accepted. Since Linux 4.20 a radix tree is an
           XArray and is walked as one.
 -r offset start is a structure holding the rb_root, xarray, radix tree
           root or maple_tree at this offset (struct.member or a number).
 -o offset red-black trees: where the rb_node lies in each entry; the entry
           printed is the node's address less this offset.
 -s struct print each entry as this struct (struct.member,member: only
           those members); may be given more than once. -S is the same.
    -l     red-black trees: in sorted order (leftmost first) instead of
           crash's default, each node before its subtrees.
    -p     each entry's place: its path from the root (l/r for red-black
           trees; slot numbers, with the index, for the others).
 -x -d     integers in hexadecimal or decimal (the default).
    -N     start is a node (an rb_node, or the xa_head or ma_root word)
           rather than the tree's root structure.
    -v     (maple trees: each node dumped) is not here yet.
   start   an address, a symbol or a parenthesised expression.

  tree -t rbtree -o vmap_area.rb_node vmap_area_root     (before Linux 6.9)
  tree -t xarray -r pid_namespace.idr init_pid_ns -p
  tree -t maple -r mm_struct.mm_mt ADDRESS -s vm_area_struct.vm_start,vm_end`,
		Options:      []string{"-t", "-r", "-o", "-s", "-S", "-l", "-p", "-x", "-d", "-N", "-v"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runTree,
	})
}

// treeKind is the kind of tree -t names.
type treeKind int

const (
	treeRB treeKind = iota
	treeXArray
	treeRadix // before 4.20, a struct radix_tree_root
	treeMaple
)

// plural is how crash's errors name the kind.
func (k treeKind) plural() string {
	return [...]string{"rbtrees", "Xarrays", "radix trees", "maple trees"}[k]
}

// treeEntry is one entry to print: its address and its place.
type treeEntry struct {
	addr uint64
	pos  string // the -p line, without its indent
}

func runTree(c *Context, args []string) error {
	entries, format, err := c.Session.treeWalk(args)
	if err != nil {
		return err
	}
	return writeWalk(c, entries, format)
}

// treeWalk parses tree's arguments and gives its entries, with their
// places (-p) and -s structures, and the format -x or -d asks for.
func (s *Session) treeWalk(args []string) (iter.Seq2[WalkEntry, error], value.Format, error) {
	opts, rest, err := getopt(args, "xdlpNv", "trosS")
	if err != nil {
		return nil, value.Format{}, err
	}
	vals, err := s.Values()
	if err != nil {
		return nil, value.Format{}, err
	}
	kind := treeRB
	var kindSet, linear, position, nodeStart, verbose bool
	var rootOff, nodeOff int64
	var rootOffSet, nodeOffSet bool
	var shows []structShow
	var format value.Format
	var radixSet int // -x or -d seen: crash refuses both
	for _, op := range opts {
		switch op.name {
		case "t":
			if kindSet {
				return nil, value.Format{}, usagef("multiple tree types may not be entered")
			}
			kindSet = true
			switch t := op.val; {
			case strings.HasPrefix(t, "ra"):
				kind = treeXArray
				if _, err := s.info().Type("struct radix_tree_root"); err == nil {
					kind = treeRadix
				}
			case strings.HasPrefix(t, "rb"):
				kind = treeRB
			case strings.HasPrefix(t, "x"):
				kind = treeXArray
			case strings.HasPrefix(t, "m"):
				kind = treeMaple
			default:
				return nil, value.Format{}, usagef("invalid tree type: %s", t)
			}
		case "l":
			linear = true
		case "r", "o":
			off, set := &rootOff, &rootOffSet
			what := "root"
			if op.name == "o" {
				off, set, what = &nodeOff, &nodeOffSet, "node"
			}
			if *set {
				return nil, value.Format{}, fmt.Errorf("%s offset value %d (%#x) already entered", what, *off, *off)
			}
			if *off, err = s.treeOffset(op.val); err != nil {
				return nil, value.Format{}, fmt.Errorf("invalid -%s argument: %s", op.name, op.val)
			}
			*set = true
		case "s", "S":
			sh, err := s.parseStructShow(op.val)
			if err != nil {
				return nil, value.Format{}, err
			}
			shows = append(shows, sh)
		case "p":
			position = true
		case "N":
			nodeStart = true
		case "x", "d":
			if radixSet != 0 && radixSet != int(op.name[0]) {
				return nil, value.Format{}, errors.New("-d and -x are mutually exclusive")
			}
			radixSet = int(op.name[0])
			format.Hex = op.name == "x"
		case "v":
			verbose = true
		}
	}
	switch {
	case kind != treeRB && linear:
		return nil, value.Format{}, fmt.Errorf("-l option is not applicable to %s", kind.plural())
	case kind != treeRB && nodeOffSet:
		return nil, value.Format{}, fmt.Errorf("-o option is not applicable to %s", kind.plural())
	case kind != treeMaple && verbose:
		return nil, value.Format{}, fmt.Errorf("-v option is not applicable to %s", kind.plural())
	case verbose:
		return nil, value.Format{}, errors.New("-v (the maple tree's nodes dumped) is not supported; -p shows each entry's place")
	case rootOffSet && nodeStart:
		return nil, value.Format{}, errors.New("-r and -N options are mutually exclusive")
	case len(rest) == 0:
		return nil, value.Format{}, usagef("a starting address is required")
	}
	start, err := s.parseAddress(rest[0])
	if err != nil {
		return nil, value.Format{}, fmt.Errorf("invalid start argument: %s", rest[0])
	}
	if ks, err := s.Translator(); err == nil && ks.UserAddr(start) {
		return nil, value.Format{}, fmt.Errorf("invalid start argument: %s", rest[0])
	}
	if len(rest) > 1 {
		return nil, value.Format{}, usagef("too many arguments entered")
	}
	if !nodeStart {
		start += uint64(rootOff)
	}

	var entries iter.Seq2[treeEntry, error]
	switch kind {
	case treeRB:
		entries, err = s.rbEntries(vals, start, nodeStart, linear, nodeOff)
	case treeXArray, treeRadix, treeMaple:
		entries, err = s.indexedEntries(vals, kind, start, nodeStart)
	}
	if err != nil {
		return nil, value.Format{}, err
	}
	return func(yield func(WalkEntry, error) bool) {
		for e, err := range entries {
			if err != nil {
				yield(WalkEntry{}, treeError(err))
				return
			}
			we := WalkEntry{Addr: arch.Word(e.addr)}
			if position {
				we.place = e.pos
				idx, pos, _ := strings.Cut(e.pos, "position: ")
				we.Position = pos
				if n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(idx, "index: ")), 10, 64); err == nil {
					we.Index = &n
				}
			}
			for _, sh := range shows {
				we.Shows = append(we.Shows, sh.at(vals, e.addr))
			}
			if !yield(we, nil) {
				return
			}
		}
	}, format, nil
}

// treeOffset reads -r's and -o's argument: a number (decimal, or hex with
// 0x) or struct.member.
func (s *Session) treeOffset(arg string) (int64, error) {
	if n, err := strconv.ParseInt(arg, 0, 64); err == nil {
		return n, nil
	}
	if !strings.Contains(arg, ".") {
		return 0, errors.New("not an offset")
	}
	return s.memberOffset(arg)
}

// rbEntries walks a red-black tree: from the rb_root at start, or from the
// rb_node at start with -N; each entry is its node less nodeOff.
func (s *Session) rbEntries(vals *value.Context, start uint64, nodeStart, linear bool, nodeOff int64) (iter.Seq2[treeEntry, error], error) {
	top := start
	if !nodeStart {
		// rb_root holds only rb_node, at offset 0.
		var b [8]byte
		if err := vals.Read(b[:], start, "rb_root rb_node"); err != nil {
			return nil, readError(kernelVirtual, start, "rb_root rb_node", err)
		}
		top = value.UintAt(b[:], 0, 8, vals.ByteOrder)
	}
	order := walk.PreOrder
	if linear {
		order = walk.InOrder
	}
	return func(yield func(treeEntry, error) bool) {
		for n, err := range walk.RBNodes(vals, top, order) {
			if err != nil {
				yield(treeEntry{}, err)
				return
			}
			pos := "root"
			for _, ch := range n.Path {
				pos += "/" + string(ch)
			}
			if !yield(treeEntry{addr: n.Addr - uint64(nodeOff), pos: "position: " + pos}, nil) {
				return
			}
		}
	}, nil
}

// indexedEntries walks an xarray, a radix tree or a maple tree from its
// root structure at start, or from the head word (-N) at start.
func (s *Session) indexedEntries(vals *value.Context, kind treeKind, start uint64, nodeStart bool) (iter.Seq2[treeEntry, error], error) {
	var walker iter.Seq2[walk.Entry, error]
	typeName := map[treeKind]string{treeXArray: "struct xarray", treeRadix: "struct radix_tree_root", treeMaple: "struct maple_tree"}[kind]
	switch {
	case nodeStart && kind == treeRadix:
		return nil, errors.New("-N is not supported for radix trees before Linux 4.20; give the radix_tree_root")
	case nodeStart && kind == treeXArray:
		if start&3 == 0 {
			start |= 2 // a node's plain address: tag it as a node entry
		}
		walker = walk.XArrayFrom(vals, start)
	case nodeStart:
		walker = walk.MapleFrom(vals, start)
	default:
		t, err := s.info().Type(typeName)
		if err != nil {
			return nil, fmt.Errorf("%s do not exist or have changed their format", kind.plural())
		}
		v := vals.Typed(t, start, typeName)
		switch kind {
		case treeXArray:
			walker = walk.XArray(v)
		case treeRadix:
			walker = walk.RadixTree(v)
		default:
			walker = walk.MapleTree(v)
		}
	}
	return func(yield func(treeEntry, error) bool) {
		n := 0
		for e, err := range walker {
			if err != nil {
				yield(treeEntry{}, err)
				return
			}
			n++
			if !yield(treeEntry{addr: e.Raw, pos: indexedPosition(kind, e, n, nodeStart)}, nil) {
				return
			}
		}
	}, nil
}

// indexedPosition is crash's -p line for an xarray's or maple tree's
// entry: the index (an xarray's, or a maple tree's count of entries so
// far) and the slot taken at each level.
func indexedPosition(kind treeKind, e walk.Entry, n int, nodeStart bool) string {
	var path strings.Builder
	switch {
	case e.Slots == nil && kind == treeMaple:
		path.WriteString("/0") // crash: an entry in ma_root has no path
	case e.Slots == nil:
		path.WriteString("direct/0")
	default:
		if nodeStart && kind == treeMaple {
			path.WriteString("direct")
		} else {
			path.WriteString("root")
		}
		for _, s := range e.Slots {
			fmt.Fprintf(&path, "/%d", s)
		}
	}
	index := int64(e.Index)
	if kind == treeMaple {
		index = int64(n)
	}
	return fmt.Sprintf("index: %d  position: %s", index, path.String())
}

// treeError words a failed walk as crash does where it can.
func treeError(err error) error {
	var we *walk.Error
	if errors.As(err, &we) {
		switch {
		case errors.Is(err, walk.ErrCycle):
			return fmt.Errorf("duplicate tree node: %x", we.Addr)
		case errors.Is(err, arch.ErrInvalidAddress):
			return fmt.Errorf("invalid kernel virtual address: %x  type: %q", we.Addr, we.What)
		}
	}
	return err
}
