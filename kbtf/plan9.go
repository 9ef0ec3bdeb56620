//go:build plan9

package kbtf

import (
	"debug/dwarf"
	"errors"
)

// errPlan9: github.com/cilium/ebpf, which parses BTF, does not build on
// Plan 9; there the kernel model needs the vmlinux.
var errPlan9 = errors.New("kbtf: reading BTF is not supported on Plan 9 (github.com/cilium/ebpf does not build there): give the vmlinux")

// Types is a kernel's BTF; on Plan 9 none can be read.
type Types struct{}

// Parse fails on Plan 9.
func Parse(raw []byte) (*Types, error) { return nil, errPlan9 }

// ParseSplit fails on Plan 9.
func ParseSplit(raw []byte, base *Types) (*Types, error) { return nil, errPlan9 }

// Count is 0 on Plan 9.
func (t *Types) Count() int { return 0 }

// Type fails on Plan 9.
func (t *Types) Type(name string) (dwarf.Type, error) { return nil, errPlan9 }

// Var finds nothing on Plan 9.
func (t *Types) Var(name string) (dwarf.Type, bool) { return nil, false }

// Func finds nothing on Plan 9.
func (t *Types) Func(name string) (*dwarf.FuncType, bool) { return nil, false }
