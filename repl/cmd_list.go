package repl

import (
	"errors"
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/value"
	"github.com/vmcoretools/vmcore/walk"
)

func init() {
	register(&Command{
		Name: "list",
		Usage: "[[-o] offset][-e end][-[s|S] struct[.member[,member] [-l offset]] -[x|d]]\n" +
			"[-r|-B] [-h [-O head_offset]|-H] start",
		Summary: "linked list",
		Help: `Walks a linked list through memory and prints the address of each
element, as crash does; with -s, each element's structure or the named
members. The walk stops at a NULL pointer, back at its start, or at -e's
address, and after 1,048,576 elements; an element met twice is reported as a
loop.

  offset  where the next pointer lies in each element: struct.member or a
          number (decimal, or hex with 0x); 0 when absent.
      -o  the same, as an option.
      -e  stop when a next pointer equals this address.
      -s  print each element as this struct (struct.member,member: only
          those members). -S is the same.
      -l  with -s, when start and the printed addresses are those of the
          embedded list_head: its offset (struct.member or a number); the
          structure is shown from the address less that offset.
   -x -d  integers in hexadecimal or decimal (the default).
      -r  follow list_head.prev instead of next (the reverse order).
      -B  accepted for crash's compatibility (loops are always detected).
      -h  start is a structure holding an embedded list_head at offset: the
          elements printed are the structures, start first.
      -H  start is a list_head that heads the list (LIST_HEAD): it is not
          printed; with an offset, the structures holding the list_heads
          are.
   start  an address, a symbol or a parenthesised expression.

  list task_struct.tasks -s task_struct.pid,comm -h init_task
  list -H modules -o module.list -s module.name`,
		Options:      []string{"-o", "-e", "-s", "-S", "-l", "-x", "-d", "-r", "-B", "-h", "-H"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runList,
	})
}

// listOptions are list's parsed arguments.
type listOptions struct {
	offset    int64  // of the next pointer in each element
	end       uint64 // -e, 0 for none
	structOff int64  // -l
	format    value.Format
	reverse   bool
	embedded  bool // -h
	head      bool // -H
	start     uint64
}

func runList(c *Context, args []string) error {
	entries, format, err := c.Session.listWalk(args)
	if err != nil {
		return err
	}
	return writeWalk(c, entries, format)
}

// listWalk parses list's arguments and gives its entries, with the -s
// structures, and the format -x or -d asks for.
func (s *Session) listWalk(args []string) (iter.Seq2[WalkEntry, error], value.Format, error) {
	opts, rest, err := getopt(args, "xdrBhH", "oesSlO")
	if err != nil {
		return nil, value.Format{}, err
	}
	vals, err := s.Values()
	if err != nil {
		return nil, value.Format{}, err
	}
	var o listOptions
	var offsetArg, endArg, structArg, structOffArg string
	for _, op := range opts {
		switch op.name {
		case "o":
			offsetArg = op.val
		case "e":
			endArg = op.val
		case "s", "S":
			structArg = op.val
		case "l":
			structOffArg = op.val
		case "x":
			o.format.Hex = true
		case "d":
			o.format.Hex = false
		case "r":
			o.reverse = true
		case "h":
			o.embedded = true
		case "H":
			o.head = true
		case "O":
			return nil, value.Format{}, errors.New("-O (a head at an offset inside the structure) is not supported")
		}
	}
	switch len(rest) {
	case 0:
		return nil, value.Format{}, usagef("starting address required")
	case 1:
	case 2:
		if offsetArg != "" {
			return nil, value.Format{}, usagef("two offsets given: %s and -o %s", rest[0], offsetArg)
		}
		offsetArg, rest = rest[0], rest[1:]
	default:
		return nil, value.Format{}, usagef("too many arguments")
	}
	if offsetArg != "" {
		if o.offset, err = s.memberOffset(offsetArg); err != nil {
			return nil, value.Format{}, err
		}
	}
	if structOffArg != "" {
		if o.structOff, err = s.memberOffset(structOffArg); err != nil {
			return nil, value.Format{}, err
		}
	}
	var show *structShow
	if structArg != "" {
		sh, err := s.parseStructShow(structArg)
		if err != nil {
			return nil, value.Format{}, err
		}
		show = &sh
	}
	if endArg != "" {
		if o.end, err = s.parseAddress(endArg); err != nil {
			return nil, value.Format{}, err
		}
	}
	if o.start, err = s.parseAddress(rest[0]); err != nil {
		return nil, value.Format{}, err
	}
	if ks, err := s.Translator(); err == nil && ks.UserAddr(o.start) {
		// crash refuses a user address as typed, before reading.
		return nil, value.Format{}, fmt.Errorf("invalid kernel virtual address: %s", rest[0])
	}

	// The chain of links: each element's address plus the offset of its
	// next pointer (or prev, after it) is where the next link is read.
	const ptrSize = 8
	linkOff := int64(0)
	if o.reverse {
		linkOff = ptrSize
	}
	var first uint64
	var ends []uint64
	// shown turns a link into the address printed.
	shown := func(link uint64) uint64 { return link - uint64(o.offset) }
	switch {
	case o.head:
		// A stand-alone list_head: its next is the first element's link.
		var b [ptrSize]byte
		if err := vals.Read(b[:], o.start+uint64(linkOff), "list_head"); err != nil {
			return nil, value.Format{}, listReadError(rest[0], o.start, err)
		}
		first = value.UintAt(b[:], 0, ptrSize, vals.ByteOrder)
		ends = []uint64{o.start}
	case o.embedded:
		first = o.start + uint64(o.offset)
		ends = []uint64{first}
	default:
		// The next pointer lies at offset in each element and points at
		// the next element itself.
		first, linkOff = o.start, linkOff+o.offset
		ends = []uint64{o.start}
		shown = func(link uint64) uint64 { return link }
	}
	if o.end != 0 {
		ends = append(ends, o.end)
	}
	return func(yield func(WalkEntry, error) bool) {
		for link, err := range walk.Chain(vals, first, linkOff, ptrSize, ends) {
			if err != nil {
				var we *walk.Error
				switch {
				case errors.Is(err, walk.ErrCycle) && errors.As(err, &we):
					err = fmt.Errorf("duplicate list entry: %x", shown(we.Addr))
				case errors.As(err, &we) && we.Addr == first:
					err = listReadError(rest[0], shown(first), err)
				}
				yield(WalkEntry{}, err)
				return
			}
			addr := shown(link)
			e := WalkEntry{Addr: arch.Word(addr)}
			if show != nil {
				e.Shows = []Shown{show.at(vals, addr-uint64(o.structOff))}
			}
			if !yield(e, nil) {
				return
			}
		}
	}, o.format, nil
}

// listReadError words a start that cannot be read as crash does.
func listReadError(arg string, addr uint64, err error) error {
	if errors.Is(err, arch.ErrInvalidAddress) {
		return fmt.Errorf("invalid kernel virtual address: %s", arg)
	}
	return readError(kernelVirtual, addr, "list entry", err)
}
