package repl

import (
	"debug/dwarf"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/vmcoretools/vmcore/arch"
	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/value"
)

// What list and tree share: offsets given as struct.member or a number,
// and their -s argument, struct[.member[,member]].

// aggregateType looks up a struct, or else a union, by its bare name, as
// crash's -s and offsets name them.
func (s *Session) aggregateType(name string) (dwarf.Type, error) {
	t, err := s.info().Type("struct " + name)
	if err != nil {
		t, err = s.info().Type("union " + name)
	}
	return t, err
}

// memberOffset reads an offset as list and tree take it: struct.member
// (or union.member), or a number, decimal or hex with 0x.
func (s *Session) memberOffset(arg string) (int64, error) {
	if name, member, ok := strings.Cut(arg, "."); ok {
		t, err := s.aggregateType(name)
		if err != nil {
			return 0, fmt.Errorf("invalid argument: %s", arg)
		}
		m, err := dwarfsym.FindMember(t, member)
		if err != nil {
			return 0, fmt.Errorf("invalid argument: %s", arg)
		}
		return m.Offset, nil
	}
	n, err := strconv.ParseInt(arg, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid argument: %s", arg)
	}
	return n, nil
}

// structShow is a parsed -s argument: the structure to print at each
// element's address, whole or only the named members.
type structShow struct {
	name    string
	t       dwarf.Type
	members []string // nil for the whole structure
}

// parseStructShow reads struct[.member[,member...]].
func (s *Session) parseStructShow(arg string) (structShow, error) {
	name, members, _ := strings.Cut(arg, ".")
	t, err := s.aggregateType(name)
	if err != nil {
		return structShow{}, fmt.Errorf("invalid argument: %s", arg)
	}
	sh := structShow{name: name, t: t}
	if members != "" {
		sh.members = strings.Split(members, ",")
	}
	return sh, nil
}

// at is the structure shown at addr.
func (sh structShow) at(vals *value.Context, addr uint64) Shown {
	return Shown{Type: "struct " + sh.name, Value: vals.Typed(sh.t, addr, "struct "+sh.name), Members: sh.members}
}

// Shown is a structure list's or tree's -s shows of an entry: the whole
// of it, or the named members.
type Shown struct {
	Type    string      // "struct task_struct"
	Value   value.Value // the structure at the entry
	Members []string    // the member paths shown; nil for the whole
}

// write prints the structure as crash's -s does.
func (sh Shown) write(w io.Writer, f value.Format) error {
	var out string
	var err error
	if sh.Members == nil {
		out, err = sh.Value.WriteStruct(f)
	} else {
		out, err = memberText(sh.Value, sh.Members, f)
	}
	fmt.Fprint(w, out)
	return err
}

// MarshalJSON writes {"type", "members" (when named), "value"}: the value
// is the structure's JSON (value.Value.MarshalJSON), or an object of the
// named members.
func (sh Shown) MarshalJSON() ([]byte, error) {
	var v []byte
	var err error
	if sh.Members == nil {
		v, err = sh.Value.MarshalJSON()
	} else {
		v, err = sh.Value.MembersJSON(sh.Members)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Type    string          `json:"type"`
		Addr    arch.Word       `json:"addr"`
		Members []string        `json:"members,omitempty"`
		Value   json.RawMessage `json:"value"`
	}{sh.Type, arch.Word(sh.Value.Addr), sh.Members, v})
}

// WalkEntry is one element list or tree prints: its address, its place
// in a tree (tree -p) and the structures -s shows of it.
type WalkEntry struct {
	Addr arch.Word `json:"address"`
	// Position is tree -p's path from the root ("root/l/r" in an
	// rbtree, "root/0/5" of slots in an xarray, radix or maple tree);
	// Index is the entry's index in an xarray, radix or maple tree.
	Position string  `json:"position,omitempty"`
	Index    *uint64 `json:"index,omitempty"`
	Shows    []Shown `json:"structs,omitempty"`
	place    string  // tree -p's line, as crash prints it
}

// memberText prints the named members of v as crash's struct.member and
// -s struct.member do: a plain member's lines are picked out of the whole
// structure's text (crash's parse_for_member), so that a member inside an
// anonymous struct or union keeps its indentation and its comma; a path
// (a.b, a[2]) is printed as value.WriteMembers prints it.
func memberText(v value.Value, members []string, f value.Format) (string, error) {
	var whole string
	var b strings.Builder
	for _, m := range members {
		if strings.ContainsAny(m, ".[") {
			s, err := v.WriteMembers([]string{m}, f)
			b.WriteString(s)
			if err != nil {
				return b.String(), err
			}
			continue
		}
		if _, err := v.Member(m); err != nil {
			return b.String(), err
		}
		if whole == "" {
			s, err := v.WriteStruct(f)
			if err != nil {
				return b.String(), err
			}
			whole = s
		}
		b.WriteString(pickMember(whole, m))
	}
	return b.String(), nil
}

// pickMember is crash's parse_for_member (PARSE_FOR_DATA) over the text
// of a whole structure: the lines of member, from its "  member = " line
// to the end of its value, with a lone trailing ", " trimmed.
func pickMember(whole, member string) string {
	lines := strings.SplitAfter(whole, "\n")
	lead := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	look1, look2 := "  "+member+" ", "  "+member+"["
	var out strings.Builder
	indent, on, embed := 0, 0, 0
	array := false
	for i := 0; i < len(lines); i++ {
		buf := lines[i]
		if (embed != 0 && lead(buf) == embed) || (strings.Contains(buf, "}}") && embed == lead(buf)-2) {
			embed = 0
		}
		if on == 0 && embed == 0 && strings.Contains(buf, "= {") && !strings.Contains(buf, look1) {
			embed = lead(buf)
		}
		if embed != 0 {
			continue
		}
		if strings.Contains(buf, look1) || strings.Contains(buf, look2) {
			on++
			if strings.Contains(buf, "= {") {
				indent = lead(buf)
			}
			if strings.Contains(buf, "[") {
				array = true
			}
		}
		if on == 0 {
			continue
		}
		done := false
		switch {
		case indent != 0 && on > 1 && lead(buf) == indent && !strings.Contains(buf, "}") || strings.HasPrefix(buf, "}"):
			done = true
		case indent != 0 && on > 1 && indent == lead(buf)-2 && strings.Contains(buf, "}}"):
			out.WriteString(buf)
			done = true
		case indent == 0:
			out.WriteString(strings.Replace(buf, ", \n", "\n", 1))
			done = true
		case strings.Contains(buf, "}") && lead(buf) == indent:
			out.WriteString(strings.Replace(buf, "}, \n", "}\n", 1))
			done = true
		default:
			out.WriteString(buf)
			on++
		}
		if done {
			if !array {
				break
			}
			// crash goes on looking after an array's match.
			on, array = 0, false
		}
	}
	return out.String()
}

// writeWalk prints the entries of a list or tree walk as crash does:
// each address, its -p place, and its -s structures.
func writeWalk(c *Context, entries iter.Seq2[WalkEntry, error], format value.Format) error {
	for e, err := range entries {
		if err := c.Stopped(); err != nil {
			return err
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Out, "%x\n", uint64(e.Addr))
		if e.place != "" {
			fmt.Fprintf(c.Out, "  %s\n", e.place)
		}
		for _, sh := range e.Shows {
			if err := sh.write(c.Out, format); err != nil {
				return err
			}
		}
	}
	return nil
}

// Walk gives the entries list or tree (cmd) prints for these arguments,
// as typed at the prompt, as values: each entry's address, its place
// (tree -p) and the structures -s shows. -x and -d do not change them.
func (s *Session) Walk(cmd string, args []string) (iter.Seq2[WalkEntry, error], error) {
	if !s.hasTypes() {
		return nil, ErrNeedsVMLinux
	}
	var entries iter.Seq2[WalkEntry, error]
	var err error
	switch cmd {
	case "list":
		entries, _, err = s.listWalk(args)
	case "tree":
		entries, _, err = s.treeWalk(args)
	default:
		return nil, fmt.Errorf("no walk named %q (list and tree have)", cmd)
	}
	return entries, err
}
