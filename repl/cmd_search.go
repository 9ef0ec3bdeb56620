package repl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name: "search",
		Usage: "[-s start] [ -[kKV] | -u | -p | -t | -T ] [-e end | -l length] [-m mask]\n" +
			"[-x count] -[cwh] [value | (expression) | symbol | string] ...",
		Summary: "search memory",
		Help: `Searches memory for values or strings and prints each place found, as
crash does: kernel virtual memory by default (the direct map, vmalloc
space, the struct page array, the kernel image), physical memory (-p) or
the current task's user memory (-u). Pages the dump does not hold (a
filtered dump's excluded pages) are skipped, and their number is said at
the end; they are not errors.

  -s start  where to begin (an address, a symbol); the default is the
            start of the space.
  -k        kernel virtual memory (the default).
  -u        the current context's user memory: its mappings.
  -p        physical memory.
  -t        every task's kernel stack, each headed by its task when
            something is found there; -T: the active tasks' only.
  -e end    where to stop (not included), or
  -l length how many bytes to search.
  -m mask   bits to ignore in the comparison (hexadecimal).
  -w -h     look for 32-bit or 16-bit values instead of 64-bit ones.
  -c        look for strings; each match shows up to 56 bytes from it.
  -x count  show count values before and after each match.
  value     hexadecimal, a symbol (its address) or a parenthesised
            expression; several may be given.

  search -p deadbeef
  search -k -c "Kernel panic"
  search -s init_task -l 8192 -x 2 init_task`,
		Options:      []string{"-s", "-k", "-u", "-p", "-e", "-l", "-m", "-w", "-h", "-c", "-x", "-K", "-V", "-t", "-T"},
		Args:         ArgSymbol,
		NeedsVMLinux: true,
		FromBTF:      true,
		Run:          runSearch,
	})
}

// searchArgs is a parsed search command line.
type searchArgs struct {
	q       kmem.Query
	mem     *kmem.Memory
	names   []string // each value's name, shown after its matches
	context int      // -x
	chars   bool     // -c
	stacks  string   // -t (every task's kernel stack) or -T (the active tasks')
}

// SearchQuery parses the arguments of crash's search (options and values,
// as the prompt's search takes them) into the query kmem.Memory.Search
// runs; notes crash prints (a start rounded down, a mask ignored) go to
// warn.
func (s *Session) SearchQuery(args []string, warn io.Writer) (kmem.Query, error) {
	a, err := s.parseSearch(args, warn)
	if err != nil {
		return kmem.Query{}, err
	}
	return a.q, nil
}

func runSearch(c *Context, args []string) error {
	s := c.Session
	a, err := s.parseSearch(args, c.Err)
	if err != nil {
		return err
	}
	var st kmem.SearchStats
	if a.stacks == "" {
		if err := s.searchRun(c, a, a.q, &st, nil); err != nil {
			return err
		}
	} else {
		// -t, -T: each task's kernel stack, headed by the task when
		// something is found there.
		tr, err := s.Tracer()
		if err != nil {
			return err
		}
		found := 0
		for _, tk := range tr.Table.Tasks {
			if tk.Stack == 0 || a.stacks == "T" && !tk.Active {
				continue
			}
			q := a.q
			q.Start, q.End = tk.Stack, tk.Stack+tr.CPU.StackSize()
			header := func() {
				if found > 0 {
					fmt.Fprintln(c.Out)
				}
				writeTaskHeader(c.Out, tk)
				found++
			}
			if err := s.searchRun(c, a, q, &st, header); err != nil {
				return err
			}
		}
	}
	if st.Excluded > 0 {
		fmt.Fprintf(c.Err, "search: not searched: %d pages excluded from the dump (by its dump level, or lost)\n", st.Excluded)
	}
	return nil
}

// searchRun runs one search and prints its matches; before the first,
// header (if not nil).
func (s *Session) searchRun(c *Context, a *searchArgs, q kmem.Query, st *kmem.SearchStats, header func()) error {
	for m, err := range a.mem.Search(s.Dump.Phys(), q, st) {
		if err != nil {
			return err
		}
		if err := c.Stopped(); err != nil {
			return err
		}
		if header != nil {
			header()
			header = nil
		}
		switch {
		case a.chars:
			fmt.Fprintf(c.Out, "%x: %s\n", uint64(m.Addr), printable(m.Text))
		case a.context > 0:
			s.searchContext(c, q, m, a.context, a.names[m.Index])
		default:
			fmt.Fprintf(c.Out, "%x: %x %s\n", uint64(m.Addr), m.Value, a.names[m.Index])
		}
	}
	return nil
}

func (s *Session) parseSearch(args []string, warn io.Writer) (*searchArgs, error) {
	opts, rest, err := getopt(args, "TtukKVphwc", "lsevmx")
	if err != nil {
		return nil, err
	}
	ks, err := s.Translator()
	if err != nil {
		return nil, err
	}
	vals, err := s.Values()
	if err != nil {
		return nil, err
	}
	mem := kmem.New(ks, vals)
	q := kmem.Query{Space: kmem.Kernel, Width: 8}
	var startSet, spaceSet, chars bool
	var startArg, endArg, lenArg, stacks string
	var context int
	mode := ""
	setMode := func(m string) {
		if mode != "" {
			fmt.Fprintf(warn, "search: WARNING: overriding previously set search mode with \"%s\"\n", m)
		}
		mode = m
	}
	for _, op := range opts {
		switch op.name {
		case "k", "K", "V":
			if op.name != "k" {
				return nil, fmt.Errorf("-%s (part of kernel memory) is not supported; -s and -e bound a search", op.name)
			}
			q.Space, spaceSet = kmem.Kernel, true
		case "u":
			q.Space, spaceSet = kmem.User, true
		case "p":
			q.Space, spaceSet = kmem.Physical, true
		case "t", "T":
			if stacks != "" && stacks != op.name {
				return nil, errors.New("-t and -T options are mutually exclusive")
			}
			stacks = op.name
		case "s":
			startArg, startSet = op.val, true
		case "e":
			endArg = op.val
		case "l":
			lenArg = op.val
		case "m":
			m, ok := parseHex(op.val)
			if !ok {
				return nil, fmt.Errorf("invalid input: \"%s\"", op.val)
			}
			q.Mask = m
		case "h":
			setMode("h")
			q.Width, chars = 2, false
		case "w":
			setMode("w")
			q.Width, chars = 4, false
		case "c":
			setMode("c")
			chars = true
		case "x":
			n, err := strconv.Atoi(op.val)
			if err != nil {
				return nil, fmt.Errorf("invalid input: \"%s\"", op.val)
			}
			context = n
		}
	}
	startNonZero := false
	if startSet {
		v, err := s.parseAddress(startArg)
		startNonZero = err != nil || v != 0
	}
	if stacks != "" && (spaceSet || startNonZero || endArg != "" || lenArg != "") {
		return nil, fmt.Errorf("-%s option cannot be used with other memory-selection options", stacks)
	}
	if len(rest) == 0 || lenArg != "" && endArg != "" {
		return nil, usagef("") // crash's bare usage
	}

	// Where: the start, then the end or length (-t and -T search the
	// stacks instead).
	if stacks == "" {
		var task = s.currentTaskOrNil()
		if q.Space == kmem.User {
			if task == nil || task.MM == 0 {
				return nil, errors.New("current context has no user address space")
			}
			q.Task = task
		}
		switch {
		case startSet:
			if q.Start, err = s.parseAddress(startArg); err != nil {
				return nil, err
			}
		case q.Space == kmem.Physical:
			if q.Start, err = mem.PhysicalStart(); err != nil {
				return nil, err
			}
		}
		switch q.Space {
		case kmem.Kernel:
			if startSet && !ks.KernelAddr(q.Start) {
				return nil, usagef("invalid kernel virtual address: %x", q.Start)
			}
		case kmem.User:
			if startSet && !ks.UserAddr(q.Start) {
				return nil, usagef("invalid user virtual address: %x", q.Start)
			}
		}
		if endArg != "" {
			if q.End, err = s.parseAddress(endArg); err != nil {
				return nil, err
			}
			if q.End == 0 {
				return nil, errors.New("invalid ending address: 0")
			}
		}
		if lenArg != "" {
			n, err := strconv.ParseUint(lenArg, 0, 64)
			if err != nil {
				if n, err = strconv.ParseUint(lenArg, 16, 64); err != nil {
					return nil, fmt.Errorf("not a valid number: %s", lenArg)
				}
			}
			q.End = q.Start + n
		}
		if q.End != 0 && q.End < q.Start {
			return nil, usagef("ending address %x is below starting address %x", q.End, q.Start)
		}
		if q.Start&7 != 0 {
			q.Start &^= 7
			fmt.Fprintf(warn, "search: rounding down start address to: %x\n", q.Start)
		}
	}

	// What: values (with their names, shown after each match) or strings.
	var names []string
	if chars {
		if q.Mask != 0 {
			fmt.Fprintln(warn, "search: mask ignored on string search")
		}
		if context != 0 {
			return nil, errors.New("-x option is not allowed with -c")
		}
		for _, a := range rest {
			if a != "" {
				q.Strings = append(q.Strings, a)
			}
		}
	} else {
		if max := int(ks.PageSize()) / q.Width; context > max {
			return nil, fmt.Errorf("context value %d is too large: maximum is %d", context, max)
		}
		for _, a := range rest {
			v, name, err := s.searchValue(a)
			if err != nil {
				return nil, err
			}
			if q.Mask != 0 {
				name = ""
			}
			if q.Width < 8 && v>>(8*q.Width) != 0 {
				return nil, fmt.Errorf("value too large for -%s option: %x %s", mode, v, name)
			}
			q.Values = append(q.Values, v)
			names = append(names, name)
		}
	}
	if len(q.Strings)+len(q.Values) == 0 {
		return nil, usagef("")
	}

	return &searchArgs{q: q, mem: mem, names: names, context: context, chars: chars, stacks: stacks}, nil
}

// currentTaskOrNil is the current context's task, nil if there is none.
func (s *Session) currentTaskOrNil() *tasks.Task {
	t, err := s.CurrentTask()
	if err != nil {
		return nil
	}
	return t
}

// searchValue reads a value as crash's search does: an expression (in
// parentheses, or with an operator between two operands) or a symbol,
// each named after the match as "(name)", or else hexadecimal.
func (s *Session) searchValue(arg string) (uint64, string, error) {
	if strings.HasPrefix(arg, "(") && strings.HasSuffix(arg, ")") && len(arg) > 2 {
		v, err := s.evalExpr(arg)
		return v, arg, err
	}
	if i := strings.IndexAny(arg, "><+-&|*/%^"); i > 0 && i < len(arg)-1 {
		v, err := s.evalExpr("(" + arg + ")")
		return v, "(" + arg + ")", err
	}
	if a, ok := s.Symbols.LookupSymbol(arg); ok {
		return a, "(" + arg + ")", nil
	}
	v, ok := parseHex(arg)
	if !ok {
		return 0, "", fmt.Errorf("invalid input: \"%s\"", arg)
	}
	return v, "", nil
}

// searchContext prints a match with count values before and after it, as
// crash's display_with_pre_and_post: rd-style lines (hexadecimal, with the
// bytes as ASCII at the end), the match's own line, then a blank line.
func (s *Session) searchContext(c *Context, q kmem.Query, m kmem.Match, count int, name string) {
	w := uint64(q.Width)
	addr := uint64(m.Addr)
	s.searchDisplay(c, q, addr-uint64(count)*w, count)
	fmt.Fprintf(c.Out, "%16x:  %x %s\n", addr, m.Value, name)
	s.searchDisplay(c, q, addr+w, count)
	fmt.Fprintln(c.Out)
}

// searchDisplay is crash's display_memory(HEXADECIMAL|NO_ERROR|
// ASCII_ENDLINE) of count values of the query's width from addr: lines of
// 16 bytes; a value that cannot be read ends it quietly.
func (s *Session) searchDisplay(c *Context, q kmem.Query, addr uint64, count int) {
	size := q.Width
	perLine := 16 / size
	asciiStart := map[int]int{8: 37, 4: 39, 2: 43}[size] + 16
	read := func(p []byte, a uint64) error {
		_, err := s.ReadVirt(p, a)
		return err
	}
	switch q.Space {
	case kmem.Physical:
		read = func(p []byte, a uint64) error {
			_, err := s.Dump.ReadPhys(p, a)
			return err
		}
	case kmem.User:
		um, err := s.userMemory()
		if err != nil {
			return
		}
		read = um.ReadAt
	}
	var line strings.Builder
	var ascii []byte
	flush := func() {
		if line.Len() == 0 {
			return
		}
		if pad := asciiStart - line.Len(); pad > 0 {
			line.WriteString(strings.Repeat(" ", pad))
		}
		line.WriteString("  ")
		line.Write(ascii)
		fmt.Fprintln(c.Out, line.String())
		line.Reset()
		ascii = ascii[:0]
	}
	b := make([]byte, size)
	for i := 0; i < count; i++ {
		if read(b, addr) != nil {
			break
		}
		if i%perLine == 0 {
			flush()
			fmt.Fprintf(&line, "%16x:  ", addr)
		}
		var v uint64
		switch size {
		case 8:
			v = binary.LittleEndian.Uint64(b)
		case 4:
			v = uint64(binary.LittleEndian.Uint32(b))
		default:
			v = uint64(binary.LittleEndian.Uint16(b))
		}
		fmt.Fprintf(&line, "%0*x ", size*2, v)
		ascii = append(ascii, printable(b)...)
		addr += uint64(size)
	}
	flush()
}

// printable shows bytes as crash's search does: printable ASCII as is,
// anything else as a dot.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, ch := range b {
		if ch >= 0x20 && ch < 0x7f {
			out[i] = ch
		} else {
			out[i] = '.'
		}
	}
	return string(out)
}
