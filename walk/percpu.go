package walk

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"iter"

	"github.com/vmcoretools/vmcore/ktype"
	"github.com/vmcoretools/vmcore/value"
)

// CPUs iterates the CPUs set in a cpumask in ascending order:
// for_each_cpu. mask is a struct cpumask, a pointer to one, or a
// cpumask_var_t. Bits at or past the kernel's nr_cpu_ids are not CPUs and
// are ignored. An unreadable mask is an *Error.
func CPUs(mask value.Value) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		m, err := object(mask, "cpumask")
		if err != nil {
			yield(0, err)
			return
		}
		w := newWalker(m.Context(), "cpumask", m.Addr, nil)
		if at, ok := ktype.Strip(m.Type).(*dwarf.ArrayType); ok && at.Count == 1 { // cpumask_var_t
			if m, err = m.Index(0); err != nil {
				yield(0, w.layout(err))
				return
			}
		}
		if err := w.isStruct(m.Type, "cpumask", "mask"); err != nil {
			yield(0, err)
			return
		}
		bm, err := m.Member("bits")
		if err != nil {
			yield(0, w.layout(err))
			return
		}
		word, err := bm.Index(0)
		if err != nil {
			yield(0, w.layout(err))
			return
		}
		ws := word.Size()
		n := bm.Size()
		if ws != 4 && ws != 8 || n <= 0 || n > 1<<16 {
			yield(0, w.layout(fmt.Errorf("struct cpumask.bits is %d bytes of %d-byte words", n, ws)))
			return
		}
		b := make([]byte, n)
		if err := w.read(b, bm.Addr, "cpumask.bits"); err != nil {
			yield(0, err)
			return
		}
		limit := int(n * 8)
		if nr, err := NrCPUIDs(m.Context()); err == nil && nr < limit {
			limit = nr
		}
		for cpu := 0; cpu < limit; cpu++ {
			x := w.word(b, int64(cpu/int(ws*8))*ws, ws)
			if x>>(uint(cpu)%uint(ws*8))&1 != 0 && !yield(cpu, nil) {
				return
			}
		}
	}
}

// NrCPUIDs returns the kernel's nr_cpu_ids: one more than the highest
// possible CPU number.
func NrCPUIDs(c *value.Context) (int, error) {
	v, err := c.Var("nr_cpu_ids")
	if err != nil {
		return 0, err
	}
	n, err := v.Uint()
	if err != nil {
		return 0, err
	}
	if n == 0 || n > 1<<20 {
		return 0, fmt.Errorf("walk: nr_cpu_ids is %d", n)
	}
	return int(n), nil
}

// cpuMask finds the first of a mask's names that the kernel has: 4.5 and
// later have __cpu_*_mask variables, earlier kernels a cpu_*_mask pointer
// or cpu_*_bits.
func cpuMask(c *value.Context, names ...string) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		if c == nil {
			yield(0, errors.New("walk: no context"))
			return
		}
		var errs []error
		for _, name := range names {
			v, err := c.Var(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for cpu, err := range CPUs(v) {
				if !yield(cpu, err) || err != nil {
					return
				}
			}
			return
		}
		yield(0, &Error{Walk: "cpumask", What: names[0], Err: fmt.Errorf("%w: %v", ErrLayout, errors.Join(errs...))})
	}
}

// PossibleCPUs iterates the CPUs that can ever be online:
// for_each_possible_cpu (cpu_possible_mask).
func PossibleCPUs(c *value.Context) iter.Seq2[int, error] {
	return cpuMask(c, "__cpu_possible_mask", "cpu_possible_mask", "cpu_possible_bits")
}

// OnlineCPUs iterates the CPUs online: for_each_online_cpu
// (cpu_online_mask). A panic takes the other CPUs offline before the dump
// is taken, so in a kdump this is often the panicking CPU alone;
// PresentCPUs names the others.
func OnlineCPUs(c *value.Context) iter.Seq2[int, error] {
	return cpuMask(c, "__cpu_online_mask", "cpu_online_mask", "cpu_online_bits")
}

// PresentCPUs iterates the CPUs present in the machine:
// for_each_present_cpu (cpu_present_mask).
func PresentCPUs(c *value.Context) iter.Seq2[int, error] {
	return cpuMask(c, "__cpu_present_mask", "cpu_present_mask", "cpu_present_bits")
}

// ActiveCPUs iterates the CPUs the scheduler may use (cpu_active_mask).
func ActiveCPUs(c *value.Context) iter.Seq2[int, error] {
	return cpuMask(c, "__cpu_active_mask", "cpu_active_mask", "cpu_active_bits")
}

// CPUList yields the CPUs given, in that order: a CPU set for PerCPU and
// PerCPUPtrs that is not a kernel cpumask.
func CPUList(cpus ...int) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for _, c := range cpus {
			if !yield(c, nil) {
				return
			}
		}
	}
}

// CPUValue is one CPU's instance of a per-CPU object.
type CPUValue struct {
	CPU   int
	Value value.Value
}

// PerCPU yields, for each CPU of cpus (PossibleCPUs(c), OnlineCPUs(c),
// CPUs(mask), ...), that CPU's instance of the per-CPU variable name:
// for_each_cpu(cpu, mask) per_cpu(name, cpu).
func PerCPU(c *value.Context, name string, cpus iter.Seq2[int, error]) iter.Seq2[CPUValue, error] {
	return func(yield func(CPUValue, error) bool) {
		for cpu, err := range cpus {
			if err != nil {
				yield(CPUValue{}, err)
				return
			}
			v, err := c.PerCPU(name, cpu)
			if err != nil {
				yield(CPUValue{CPU: cpu}, &Error{Walk: "per-CPU", What: fmt.Sprintf("%s on CPU %d", name, cpu), Err: err})
				return
			}
			if !yield(CPUValue{CPU: cpu, Value: v}, nil) {
				return
			}
		}
	}
}

// PerCPUOffset returns the start of CPU cpu's per-CPU area: the
// context's PerCPUOffset if it has one, else the kernel's
// __per_cpu_offset[cpu].
func PerCPUOffset(c *value.Context, cpu int) (uint64, error) {
	if cpu < 0 {
		return 0, fmt.Errorf("walk: negative CPU number %d", cpu)
	}
	if c.PerCPUOffset != nil {
		return c.PerCPUOffset(cpu)
	}
	offs, err := c.Var("__per_cpu_offset")
	if err != nil {
		return 0, fmt.Errorf("walk: per-CPU areas: %w", err)
	}
	e, err := offs.Index(cpu)
	if err != nil {
		return 0, err
	}
	return e.Uint()
}

// PerCPUPtr returns CPU cpu's instance of what the per-CPU pointer p (a
// "T __percpu *", such as a struct's per-CPU statistics) points to:
// per_cpu_ptr(p, cpu).
func PerCPUPtr(p value.Value, cpu int) (value.Value, error) {
	if p.Context() == nil {
		return value.Value{}, errors.New("walk: per_cpu_ptr of a value without a context")
	}
	pt, ok := ktype.Strip(p.Type).(*dwarf.PtrType)
	if !ok {
		return value.Value{}, fmt.Errorf("walk: %s is a %s, not a per-CPU pointer", p.Expr, ktype.Declare(p.Type, ""))
	}
	ptr, err := p.Uint()
	if err != nil {
		return value.Value{}, err
	}
	base, err := PerCPUOffset(p.Context(), cpu)
	if err != nil {
		return value.Value{}, err
	}
	t := pt.Type
	if t == nil {
		t = &dwarf.VoidType{}
	}
	return p.Context().Typed(t, ptr+base, fmt.Sprintf("per_cpu_ptr(%s, %d)", p.Expr, cpu)), nil
}

// PerCPUPtrs yields per_cpu_ptr(p, cpu) for each CPU of cpus.
func PerCPUPtrs(p value.Value, cpus iter.Seq2[int, error]) iter.Seq2[CPUValue, error] {
	return func(yield func(CPUValue, error) bool) {
		for cpu, err := range cpus {
			if err != nil {
				yield(CPUValue{}, err)
				return
			}
			v, err := PerCPUPtr(p, cpu)
			if err != nil {
				yield(CPUValue{CPU: cpu}, &Error{Walk: "per-CPU", What: fmt.Sprintf("%s on CPU %d", p.Expr, cpu), Err: err})
				return
			}
			if !yield(CPUValue{CPU: cpu, Value: v}, nil) {
				return
			}
		}
	}
}
