package repl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/tasks"
)

func init() {
	register(&Command{
		Name:    "rd",
		Usage:   "[-adDsSpuxNR][-8|-16|-32|-64][-o offs][-e addr] [address|symbol|(expression)] [count]",
		Summary: "read memory",
		Help: `Displays memory, by default as 64-bit hexadecimal values with an ASCII
translation at the end of each line. The address is a kernel virtual
address unless -p is given; it may be hexadecimal, a symbol, or an
expression in parentheses.

   -p  the address is a physical address.
   -u  the address is a user virtual address of the current context's task.
   -d  display in signed decimal.
   -D  display in unsigned decimal.
   -s  display values that are kernel addresses symbolically (64-bit only).
   -S  as -s (slab cache names are not shown yet).
   -x  no ASCII translation at the end of each line.
   -8, -16, -32, -64  the size of each value (default 64).
   -a  display ASCII; without a count, stop at the first non-printable byte.
   -N  network byte order (16- and 32-bit values).
   -R  display in reverse order, ending at the address.
   -o offs  add offs to the address.
   -e addr  display up to this ending address.
count is the number of values (bytes with -a) to display, default 1.`,
		Options: []string{"-a", "-d", "-D", "-s", "-S", "-p", "-u", "-x", "-N", "-R", "-8", "-16", "-32", "-64", "-o", "-e"},
		Args:    ArgSymbol,
		Run:     runRd,
	})
}

// rdFormat is how rd prints values.
type rdFormat int

const (
	rdHex rdFormat = iota
	rdDecimal
	rdUnsigned
)

type rdOptions struct {
	size     int // 1, 2, 4, 8; 0 with ascii
	ascii    bool
	format   rdFormat
	symbolic bool
	noASCII  bool
	netOrder bool
	reverse  bool
	space    addrSpace
	user     *tasks.UserMemory // -u: the current task's address space
}

// asciiUnlimited is rd -a's count without a count argument: up to the first
// non-printable byte.
const asciiUnlimited = -1

func runRd(c *Context, args []string) error {
	opts, rest, err := getopt(args, "adDsSpuxNRmf", "oer", "-8", "-16", "-32", "-64")
	if err != nil {
		return err
	}
	o := rdOptions{size: 8}
	var offset int64
	var endAddr uint64
	var haveEnd bool
	for _, op := range opts {
		switch op.name {
		case "8", "16", "32", "64":
			n, _ := strconv.Atoi(op.name)
			o.size, o.ascii = n/8, false
		case "a":
			o.ascii = true
		case "d":
			o.format = rdDecimal
		case "D":
			o.format = rdUnsigned
		case "s", "S":
			o.symbolic = true
		case "x":
			o.noASCII = true
		case "N":
			o.netOrder = true
		case "R":
			o.reverse = true
		case "p":
			o.space = physical
		case "u":
			u, err := c.Session.userMemory()
			if err != nil {
				return fmt.Errorf("-u: %w", err)
			}
			o.user = u
		case "m":
			return fmt.Errorf("-m only applies to xen dumps")
		case "f":
			return fmt.Errorf("-f (dump file offsets) is not supported")
		case "r":
			return fmt.Errorf("-r (raw copy to a file) is not supported yet; use rd ... > file")
		case "o":
			v, err := strconv.ParseInt(op.val, 0, 64)
			if err != nil {
				return usagef("invalid offset: %s", op.val)
			}
			offset = v
		case "e":
			v, ok := parseHex(op.val)
			if !ok {
				return usagef("invalid ending address: %s", op.val)
			}
			endAddr, haveEnd = v, true
		}
	}
	if o.symbolic && (o.size != 8 || o.ascii) {
		return usagef("-s option is only allowed with 64-bit display")
	}
	if len(rest) == 0 || len(rest) > 2 {
		return usagef("need an address and at most a count")
	}
	var addr uint64
	if o.space == physical && !strings.HasPrefix(rest[0], "(") {
		v, ok := parseHex(rest[0])
		if !ok {
			return fmt.Errorf("invalid physical address: %s", rest[0])
		}
		addr = v
	} else if addr, err = c.Session.parseAddress(rest[0]); err != nil {
		return err
	}
	addr += uint64(offset)

	elem := o.size
	if o.ascii {
		elem = 1
	}
	count := int64(-1)
	if len(rest) == 2 {
		if count, err = parseCount(rest[1]); err != nil {
			return err
		}
		if count <= 0 {
			return fmt.Errorf("invalid count request: %d", count)
		}
		if haveEnd {
			fmt.Fprintf(c.Out, "rd: WARNING: ending address ignored when count is specified\n")
		}
	} else if haveEnd {
		if endAddr <= addr {
			return fmt.Errorf("invalid ending address: %x", endAddr)
		}
		count = int64((endAddr - addr) / uint64(elem))
		if count == 0 {
			count = 1
		}
	} else if o.ascii {
		count = asciiUnlimited
	} else {
		count = 1
	}
	if o.reverse && count > 1 {
		addr -= uint64((count - 1) * int64(elem))
	}
	if o.ascii {
		return rdASCII(c, o, addr, count)
	}
	return rdValues(c, o, addr, count)
}

// rdValues prints count values per crash's display_memory: the address
// right-justified in 16 columns, "  ", the values, and the ASCII column
// aligned at a fixed position.
func rdValues(c *Context, o rdOptions, addr uint64, count int64) error {
	perLine := 16 / o.size
	asciiStart := map[int]int{8: 37, 4: 39, 2: 43, 1: 51}[o.size] + 16
	withASCII := o.format == rdHex && !o.symbolic && !o.noASCII
	what := fmt.Sprintf("%d-bit %s", o.size*8, o.spaceName())

	var line strings.Builder
	var chars []byte
	buf := make([]byte, 8)
	mem := &pageReader{fetch: o.reader(c.Session)}
	endLine := func() {
		if withASCII && len(chars) > 0 {
			if pad := asciiStart - line.Len(); pad > 0 {
				line.WriteString(strings.Repeat(" ", pad))
			}
			line.WriteString("  ")
			line.Write(chars)
		}
		line.WriteByte('\n')
		fmt.Fprint(c.Out, line.String())
		line.Reset()
		chars = chars[:0]
	}
	for i := int64(0); i < count; i++ {
		// Read first, as crash does: a failing read prints no address.
		b := buf[:o.size]
		if err := mem.read(b, addr); err != nil {
			if line.Len() > 0 {
				endLine()
			}
			return o.readError(addr, what, err)
		}
		if i%int64(perLine) == 0 {
			if i > 0 {
				endLine()
				if err := c.Stopped(); err != nil {
					return err
				}
			}
			fmt.Fprintf(&line, "%16x:  ", addr)
		}
		var v uint64
		switch o.size {
		case 8:
			v = binary.LittleEndian.Uint64(b)
		case 4:
			v = uint64(binary.LittleEndian.Uint32(b))
			if o.netOrder {
				v = uint64(bits.ReverseBytes32(uint32(v)))
				binary.LittleEndian.PutUint32(b, uint32(v)) // crash's ASCII column shows the swapped bytes
			}
		case 2:
			v = uint64(binary.LittleEndian.Uint16(b))
			if o.netOrder {
				v = uint64(bits.ReverseBytes16(uint16(v)))
				binary.LittleEndian.PutUint16(b, uint16(v))
			}
		case 1:
			v = uint64(b[0])
		}
		line.WriteString(formatValue(c.Session, o, v))
		for _, ch := range b {
			if ch >= 0x20 && ch < 0x7f {
				chars = append(chars, ch)
			} else {
				chars = append(chars, '.')
			}
		}
		addr += uint64(o.size)
	}
	if line.Len() > 0 {
		endLine()
	}
	return nil
}

// formatValue prints one value with crash's widths: %016lx, %08x, %04x,
// %02x in hex; %15ld, %20lu, %12d, %5d, %3d in decimal; "sym+off" padded to
// 16 with -s.
func formatValue(s *Session, o rdOptions, v uint64) string {
	if o.symbolic && s.hasTypes() {
		// crash's value_to_symstr over its own symbol table.
		if name := s.crashSymbolic(v); name != "" {
			return fmt.Sprintf("%-16s ", name)
		}
	} else if o.symbolic {
		if name, off, ok := s.Symbols.SymbolAt(v); ok {
			sym := name
			if off != 0 {
				sym = fmt.Sprintf("%s+%d", name, off)
			}
			return fmt.Sprintf("%-16s ", sym)
		}
	}
	switch o.format {
	case rdDecimal:
		switch o.size {
		case 8:
			return fmt.Sprintf("%15d ", int64(v))
		case 4:
			return fmt.Sprintf("%12d ", int32(v))
		case 2:
			return fmt.Sprintf("%5d ", v)
		default:
			return fmt.Sprintf("%3d ", v)
		}
	case rdUnsigned:
		switch o.size {
		case 8:
			return fmt.Sprintf("%20d ", v)
		case 4:
			return fmt.Sprintf("%12d ", v)
		case 2:
			return fmt.Sprintf("%5d ", v)
		default:
			return fmt.Sprintf("%3d ", v)
		}
	}
	return fmt.Sprintf("%0*x ", o.size*2, v)
}

// rdASCII prints printable bytes, 60 a line, each line starting with its
// address; a non-printable byte ends the output when no count was given
// and starts a new line otherwise.
func rdASCII(c *Context, o rdOptions, addr uint64, count int64) error {
	var (
		line      strings.Builder
		onLine    int
		displayed bool
	)
	flush := func() {
		if line.Len() > 0 {
			line.WriteByte('\n')
			fmt.Fprint(c.Out, line.String())
			line.Reset()
		}
		onLine = 0
	}
	b := make([]byte, 1)
	for i := int64(0); count == asciiUnlimited || i < count; i++ {
		if i%4096 == 0 {
			if err := c.Stopped(); err != nil {
				flush()
				return err
			}
		}
		if err := o.reader(c.Session)(b, addr); err != nil {
			flush()
			return o.readError(addr, "ascii", err)
		}
		if b[0] >= 0x20 && b[0] < 0x7f {
			if onLine%60 == 0 {
				flush()
				fmt.Fprintf(&line, "%16x:  ", addr)
			}
			line.WriteByte(b[0])
			onLine++
			displayed = true
		} else {
			if count == asciiUnlimited {
				break
			}
			flush()
		}
		addr++
	}
	flush()
	if !displayed && count == asciiUnlimited {
		fmt.Fprintln(c.Out)
	}
	return nil
}

// pageReader serves rd's small reads from one page read at a time; a page
// that cannot be read whole is read value by value, so that the error names
// the first address that failed, as crash's does.
type pageReader struct {
	fetch func(p []byte, addr uint64) error
	base  uint64
	page  []byte
	valid bool
}

const rdPage = 4096

func (r *pageReader) read(p []byte, addr uint64) error {
	base := addr &^ (rdPage - 1)
	if addr+uint64(len(p)) <= base+rdPage {
		if !r.valid || r.base != base {
			if r.page == nil {
				r.page = make([]byte, rdPage)
			}
			r.valid = r.fetch(r.page, base) == nil
			r.base = base
		}
		if r.valid {
			copy(p, r.page[addr-base:])
			return nil
		}
	}
	return r.fetch(p, addr)
}

// reader reads the address space rd was asked for.
func (o rdOptions) reader(s *Session) func(p []byte, addr uint64) error {
	if o.user != nil {
		return o.user.ReadAt
	}
	return func(p []byte, addr uint64) error { return s.read(o.space, p, addr) }
}

// spaceName is crash's name of the address space in read errors.
func (o rdOptions) spaceName() string {
	if o.user != nil {
		return "UVADDR"
	}
	return o.space.crashName()
}

// readError words a failed read as crash does.
func (o rdOptions) readError(addr uint64, what string, err error) error {
	if o.user == nil {
		return readError(o.space, addr, what, err)
	}
	switch {
	case errors.Is(err, arch.ErrNotMapped), errors.Is(err, arch.ErrInvalidAddress):
		return fmt.Errorf("invalid user virtual address: %x  type: %q", addr, what)
	case errors.Is(err, physmem.ErrExcluded):
		return fmt.Errorf("page excluded: user virtual address: %x  type: %q", addr, what)
	}
	return fmt.Errorf("read error: user virtual address: %x  type: %q (%v)", addr, what, err)
}

// userMemory is the address space of the current context's task (set;
// the panic task at start), as crash's rd -u reads.
func (s *Session) userMemory() (*tasks.UserMemory, error) {
	if !s.hasTypes() {
		return nil, fmt.Errorf("user addresses need the vmlinux")
	}
	t, err := s.CurrentTask()
	if err != nil {
		return nil, err
	}
	if t.MM == 0 {
		return nil, fmt.Errorf("the current task (pid %d, %s) has no user address space", t.PID, t.Comm)
	}
	vals, err := s.Values()
	if err != nil {
		return nil, err
	}
	ks, err := s.Translator()
	if err != nil {
		return nil, err
	}
	return tasks.NewUserMemory(vals, ks, t.MM)
}
