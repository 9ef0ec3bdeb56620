package arch

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Arch is everything that differs by machine architecture, for one kind of
// machine. The kernel views above this layer use only this interface; an
// implementation (arch/amd64 is the first) registers itself with Register,
// and a dump's machine picks it (ForMachine).
//
// Nothing here may assume 4 KiB pages, a number of page-table levels or
// x86 register names: those are the implementation's.
type Arch interface {
	// Name is the machine's name as the kernel spells it (UTS machine,
	// VMCOREINFO's and the dump header's): "x86_64", "aarch64".
	Name() string
	// Memory: kernel and user address translation and its display.
	Memory
	// CPU: registers, unwinding, exception frames and stacks.
	CPU
}

var (
	regMu sync.RWMutex
	reg   = map[string]Arch{}
)

// Register makes an architecture available to ForMachine under its Name
// and any aliases ("amd64" for "x86_64"). Implementations call it from
// init; import arch/all to get every one.
func Register(a Arch, aliases ...string) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, n := range append([]string{a.Name()}, aliases...) {
		reg[n] = a
	}
}

// ForMachine returns the architecture of a dump's machine name, or an
// error that names the machine and those supported.
func ForMachine(name string) (Arch, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	if a, ok := reg[name]; ok {
		return a, nil
	}
	var known []string
	for n, a := range reg {
		if n == a.Name() {
			known = append(known, n)
		}
	}
	sort.Strings(known)
	return nil, fmt.Errorf("arch: %q dumps are not supported (supported: %s)", name, strings.Join(known, ", "))
}
