package repl

import (
	"errors"
	"fmt"
	"sync"

	"github.com/vmcoretools/vmcore/tasks"
	"github.com/vmcoretools/vmcore/vmcore"
)

// currentTask is set's context: the task bt, task, vm and others use
// without an argument. It lives on the Session, so that dropping the
// session frees it.
type currentTask struct {
	mu sync.Mutex
	t  *tasks.Task
}

// kernel returns the session's kernel model, or why there is none.
func (s *Session) kernel() (*vmcore.Kernel, error) {
	if s.Debug == nil {
		return s.dumpKernel()
	}
	if s.Kernel == nil {
		return nil, errors.New("the vmlinux and the dump give no kernel model (no VMCOREINFO, or no kernel virtual memory)")
	}
	return s.Kernel, nil
}

// Tracer returns the kernel model's stack tracer (the task table, the
// panic task and every task's backtrace).
func (s *Session) Tracer() (*tasks.Tracer, error) {
	k, err := s.kernel()
	if err != nil {
		return nil, err
	}
	s.usedTasks = true // the tracer's table: the loop warns when partial
	return k.Tracer()
}

// CurrentTask is the context bt and task use without arguments: set by
// set, else the panic task, else pid 0 on CPU 0 as crash.
func (s *Session) CurrentTask() (*tasks.Task, error) {
	s.current.mu.Lock()
	t := s.current.t
	s.current.mu.Unlock()
	if t != nil {
		return t, nil
	}
	k, err := s.kernel()
	if err != nil {
		return nil, err
	}
	if t, err := k.PanicTask(); err != nil {
		return nil, err
	} else if t != nil {
		return t, nil
	}
	// Without a panic, crash starts in the context of CPU 0's idle task.
	tb, err := k.Tasks()
	if err != nil {
		return nil, err
	}
	if len(tb.Tasks) > 0 {
		return tb.Tasks[0], nil
	}
	return nil, errors.New("no tasks")
}

// SetCurrentTask makes t the context of commands given no task (set).
func (s *Session) SetCurrentTask(t *tasks.Task) {
	s.current.mu.Lock()
	s.current.t = t
	s.current.mu.Unlock()
}

// dumpKernel is the kernel model of a session without a vmlinux, made on
// first use from the dump's own BTF and kallsyms (vmcore.KernelFromDump);
// when the dump has neither, the error says that the vmlinux is needed
// and why the dump alone does not do.
func (s *Session) dumpKernel() (*vmcore.Kernel, error) {
	s.ownKernelOnce.Do(func() {
		if s.Dump == nil {
			s.ownKernelErr = fmt.Errorf("%w: the session has no dump", ErrNeedsVMLinux)
			return
		}
		s.ownKernel, s.ownKernelErr = vmcore.KernelFromDump(s.Dump)
		if s.ownKernelErr != nil {
			s.ownKernelErr = fmt.Errorf("%w; the dump alone does not do: %v", ErrNeedsVMLinux, s.ownKernelErr)
		}
	})
	return s.ownKernel, s.ownKernelErr
}

// OwnKernel is the kernel model of a session without a vmlinux, from the
// dump's own BTF and kallsyms (made on first use); with a vmlinux it is
// an error.
func (s *Session) OwnKernel() (*vmcore.Kernel, error) {
	if s.Debug != nil {
		return nil, errors.New("the session has a vmlinux")
	}
	return s.dumpKernel()
}
