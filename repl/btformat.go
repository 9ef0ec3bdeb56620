package repl

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/tasks"
)

// btTraceOptions are bt's -f and -l as the model's options, with the
// session's unwind methods.
func (s *Session) btTraceOptions(frames, lines bool) tasks.TraceOptions {
	return tasks.TraceOptions{Words: frames, Lines: lines, Methods: s.BtMethods}
}

// writeBacktrace prints a backtrace in crash's layout, without the task
// header line (bt prints it first, foreach once per task): the CPU
// registers it started from, "#N [slot] function at pc [module]" per
// frame with its source line (-l), the stack switch markers, the frame's
// words (-f) and the exception frames, then the user registers, and why
// the trace ended early.
func writeBacktrace(w io.Writer, bt *tasks.Backtrace) {
	if errors.Is(bt.Err, tasks.ErrNoStack) {
		fmt.Fprintln(w, "(no stack)") // crash's words for a freed stack
		return
	}
	lines := func(ex *tasks.Exception) {
		for _, l := range ex.Text {
			if ex.Where != "" {
				// crash names the interrupted instruction from its symbol
				// table, clone suffixes stripped, like the frames.
				sym, off, hasOff := strings.Cut(ex.Where, "+")
				if shown := stripCloneSuffix(sym); shown != sym {
					if hasOff {
						shown += "+" + off
					}
					l = strings.Replace(l, "[exception RIP: "+ex.Where+"]", "[exception RIP: "+shown+"]", 1)
				}
			}
			fmt.Fprintln(w, l)
		}
	}
	if bt.Start != nil {
		lines(bt.Start)
	}
	for _, f := range bt.Frames {
		name, module := "??", ""
		if f.Function != "" {
			name = stripCloneSuffix(f.Function) // as crash's symbol table has it
		}
		if f.Module != "" {
			module = " [" + f.Module + "]"
		}
		lead := " "
		if f.Level >= 10 {
			lead = ""
		}
		fmt.Fprintf(w, "%s#%d [%x] %s at %x%s\n", lead, f.Level, f.Slot, name, f.PC, module)
		if f.File != "" || f.Line != 0 {
			fmt.Fprintf(w, "    %s: %d\n", f.File, f.Line)
		}
		if ex := f.Exception; ex != nil {
			lines(ex)
			if ex.File != "" || ex.Line != 0 {
				fmt.Fprintf(w, "    %s: %d\n", ex.File, ex.Line)
			}
		}
		if f.WordsErr != "" {
			fmt.Fprintf(w, "    (%s)\n", f.WordsErr)
		}
		for i := 0; i < len(f.Words); i += 2 {
			fmt.Fprintf(w, "    %x: %016x ", uint64(f.WordsAddr)+uint64(8*i), f.Words[i])
			if i+1 < len(f.Words) {
				fmt.Fprintf(w, "%016x ", f.Words[i+1])
			}
			fmt.Fprintln(w)
		}
		// Leaving a CPU stack: after the exception frame saved on it
		// (an NMI's), as crash prints it.
		if f.Switch != nil {
			fmt.Fprintln(w, f.Switch.Marker)
		}
	}
	if bt.User != nil {
		lines(bt.User)
	}
	if bt.Err != nil {
		fmt.Fprintf(w, "bt: the trace ends here: %v\n", bt.Err)
	}
}
