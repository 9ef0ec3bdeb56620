package repl

import (
	"fmt"
	"strings"

	"github.com/vmcoretools/vmcore/walk"
)

func init() {
	register(&Command{
		Name:    "ptov",
		Usage:   "[address | offset:cpuspec]",
		Summary: "physical to virtual",
		Help: `Prints the kernel's direct-map address of each physical address, as
crash does. offset:cpuspec instead adds a per-CPU offset (the address of a
per-CPU symbol, as p/x &sym shows it) to the per-CPU area of each CPU in
cpuspec (N, N-M, N,M, a for all; empty for the current CPU). Numbers are
hexadecimal, 0x optional.`,
		NeedsVMLinux: false,
		Run:          runPtov,
	})
}

func runPtov(c *Context, args []string) error {
	if len(args) == 0 {
		return usagef("")
	}
	s := c.Session
	for i, a := range args {
		if i > 0 {
			fmt.Fprintln(c.Out)
		}
		num, cpuSpec, perCPU := strings.Cut(a, ":")
		v, ok := parseHex(num)
		if !ok {
			return fmt.Errorf("invalid address: %s", num)
		}
		if perCPU {
			if err := s.ptovPerCPU(c, v, cpuSpec); err != nil {
				return err
			}
			continue
		}
		ks, err := s.Translator()
		if err != nil {
			return err
		}
		virt, ok := ks.PhysToDirect(v)
		if !ok {
			return fmt.Errorf("no direct-map address for physical %x", v)
		}
		fmt.Fprintf(c.Out, "%-16s  %-16s\n%-16x  %-16x\n", "VIRTUAL", "PHYSICAL", virt, v)
	}
	return nil
}

// ptovPerCPU prints crash's PER-CPU OFFSET table.
func (s *Session) ptovPerCPU(c *Context, off uint64, spec string) error {
	vals, err := s.Values()
	if err != nil {
		return err
	}
	var cpus []int
	if spec == "" {
		t, err := s.CurrentTask()
		if err != nil {
			return err
		}
		cpus = []int{t.CPU}
	} else if cpus, err = s.cpuList(spec); err != nil {
		return err
	}
	n := s.Dump.NumCPUs()
	w := len(fmt.Sprintf("[%d]", n-1)) + 2
	fmt.Fprintf(c.Out, "PER-CPU OFFSET: %x\n  %-*s  %-16s\n", off, w, "CPU", "VIRTUAL")
	for _, cpu := range cpus {
		base, err := walk.PerCPUOffset(vals, cpu)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Out, "  %-*s%x\n", w, fmt.Sprintf("[%d]", cpu), off+base)
	}
	return nil
}
