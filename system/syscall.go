package system

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// MaxSysCalls bounds the system call table.
const MaxSysCalls = 4096

// SysCall is one entry of the system call table.
type SysCall struct {
	// Num is the system call's number (its index in the table).
	Num int `json:"num"`
	// Addr is the function the entry points to.
	Addr uint64 `json:"addr"`
	// Name is the symbol that starts at Addr ("__x64_sys_read"), "" when
	// none does: an entry that is not a function, which crash calls
	// invalid.
	Name string `json:"name"`
	// NotImplemented is true for sys_ni_syscall's entries.
	NotImplemented bool `json:"not_implemented,omitempty"`
}

// ErrSysCallTableSize reports a table whose length the kernel's symbols
// and types do not tell.
var ErrSysCallTableSize = errors.New("system: the length of sys_call_table is unknown")

// SysCallTable reads sys_call_table. n is the number of entries; n <= 0
// takes it from the symbol's size or, failing that, the variable's array
// type (ErrSysCallTableSize when neither tells). At most MaxSysCalls are
// read.
func SysCallTable(c *value.Context, n int) ([]SysCall, error) {
	sym, ok := c.Types.Lookup("sys_call_table")
	if !ok {
		return nil, errors.New("sys_call_table: symbol not found")
	}
	word := int64(8)
	if v, err := c.Types.Variable("sys_call_table"); err == nil {
		if at, ok := ktype.Strip(v.Type).(*dwarf.ArrayType); ok {
			if es := at.Type.Size(); es == 4 || es == 8 {
				word = es
			}
			if n <= 0 && sym.Size == 0 && at.Count > 0 {
				n = int(at.Count)
			}
		}
	}
	if n <= 0 {
		n = int(sym.Size / uint64(word))
	}
	if n <= 0 {
		return nil, ErrSysCallTableSize
	}
	n = min(n, MaxSysCalls)
	buf := make([]byte, int64(n)*word)
	if err := c.Read(buf, sym.Addr, "sys_call_table"); err != nil {
		return nil, err
	}
	order := c.ByteOrder
	if order == nil {
		order = binary.LittleEndian
	}
	var ni uint64
	if s, ok := c.Types.Lookup("sys_ni_syscall"); ok {
		ni = s.Addr
	}
	out := make([]SysCall, n)
	for i := range out {
		var fn uint64
		if word == 8 {
			fn = order.Uint64(buf[8*i:])
		} else {
			fn = uint64(order.Uint32(buf[4*i:]))
		}
		out[i] = SysCall{Num: i, Addr: fn, NotImplemented: ni != 0 && fn == ni}
		if s, off, ok := c.Types.SymbolAt(fn); ok && off == 0 {
			out[i].Name = s.Name
		}
	}
	return out, nil
}
