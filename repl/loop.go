package repl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
)

// Loop runs command lines against a session.
type Loop struct {
	Session *Session
	Out     io.Writer
	Err     io.Writer
	// Shell runs the pipeline after '|'; "" means /bin/sh.
	Shell string

	// Failed counts the commands that reported an error, for exit status.
	Failed int
	// Quit is set once a command (q, exit) asked to end the session.
	Quit bool
	// OutTerminal says Out is the terminal that stderr's progress line
	// is drawn on: commands then draw none unless their output is
	// redirected or piped.
	OutTerminal bool

	mu     sync.Mutex
	cancel context.CancelFunc // of the running command, for Ctrl-C
}

// Exec runs one command line and reports whether it asked to quit. Errors
// are printed to l.Err as "CMD: message", as crash does.
func (l *Loop) Exec(ctx context.Context, text string) (quit bool) {
	text = strings.TrimSpace(text)
	if text == "" || strings.HasPrefix(text, "#") {
		return false
	}
	line, err := ParseLine(text)
	if err != nil {
		l.fail("%v", err)
		return false
	}
	if len(line.Args) == 0 {
		l.fail("no command before '|' or '>'")
		return false
	}
	return l.ExecLine(ctx, line)
}

// ExecLine runs a parsed line; see Exec.
func (l *Loop) ExecLine(ctx context.Context, line *Line) (quit bool) {
	name := line.Args[0]
	cmd := Lookup(name)
	if cmd == nil {
		if what, ok := planned[name]; ok {
			l.fail("%s (%s): not available yet; it needs the task layer, which a later change adds", name, what)
			return false
		}
		l.fail("command not found: %s (type help for the list)", name)
		return false
	}
	if l.Session.closed && cmd.Name != "help" && cmd.Name != "q" {
		l.fail("%s: the session is closed", cmd.Name)
		return false
	}
	if cmd.NeedsVMLinux && l.Session.Debug == nil {
		err := ErrNeedsVMLinux
		if cmd.FromBTF {
			// From the dump's own BTF and kallsyms, when it has them.
			_, err = l.Session.dumpKernel()
		}
		if err != nil {
			l.fail("%s: %v", cmd.Name, err)
			return false
		}
	}

	out, finish, err := l.openOutput(line)
	if err != nil {
		l.fail("%s: %v", cmd.Name, err)
		return false
	}
	sw := &stopWriter{w: out}
	bw := bufio.NewWriterSize(sw, 32<<10)
	c := &Context{Context: ctx, Session: l.Session, Out: &stopWriter{w: bw}, Err: &flushFirst{bw, l.Err}, Name: name,
		toTerminal: l.OutTerminal && line.Redirect == "" && line.Pipe == ""}
	l.Session.usedTasks = false
	runErr := safeRun(cmd, c, line.Args[1:])
	if err := bw.Flush(); err != nil && runErr == nil && ctx.Err() == nil && !isBrokenPipe(err) {
		runErr = err
	}
	if l.Session.AfterCommand != nil {
		l.Session.AfterCommand()
	}
	l.warnPartialTasks(cmd.Name)
	if err := finish(); err != nil && runErr == nil {
		runErr = err
	}
	switch {
	case errors.Is(runErr, errQuit):
		l.Quit = true
		return true
	case runErr == nil:
	case errors.Is(runErr, ErrReported):
		l.Failed++ // the command said what failed, in crash's words
	case ctx.Err() != nil && errors.Is(runErr, ctx.Err()):
		fmt.Fprintf(l.Err, "%s: interrupted\n", cmd.Name)
	case isBrokenPipe(runErr):
		// The reader of a pipeline (head, less) went away: not an error.
	default:
		var ue *usageError
		if errors.As(runErr, &ue) {
			first := cmd.Name + ": " + ue.msg + "\n"
			if ue.msg == "" {
				first = "" // crash's bare usage, for a command given nothing
			}
			l.fail("%sUsage:\n%s\nEnter \"help %s\" for details.", first, cmd.indentedSynopsis(), cmd.Name)
		} else {
			l.fail("%s: %v", cmd.Name, runErr)
		}
	}
	return false
}

// warnPartialTasks says, after a command that read the task table, that
// the table is partial (a broken list, an unreadable task) and why: what
// the command showed may lack tasks.
func (l *Loop) warnPartialTasks(name string) {
	s := l.Session
	if !s.usedTasks {
		return
	}
	k, err := s.kernel()
	if err != nil {
		return
	}
	tb, err := k.Tasks()
	if err != nil || tb == nil {
		return
	}
	for _, w := range tb.Warnings {
		fmt.Fprintf(l.Err, "%s: WARNING: the task list is partial: %s\n", name, w)
	}
}

// ErrReported is returned by a command that printed its failure itself,
// where crash prints it: the loop adds nothing but counts the failure, so
// that -c and scripts end with status 1.
var ErrReported = errors.New("repl: the command reported its failure")

func (l *Loop) fail(format string, args ...any) {
	l.Failed++
	fmt.Fprintf(l.Err, format+"\n", args...)
}

// safeRun turns a panic in a command into an error so that one bad command
// does not end the session.
func safeRun(cmd *Command, c *Context, args []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
		}
	}()
	return cmd.Run(c, args)
}

// openOutput returns where the command writes, and a function that closes
// it (waiting for a pipeline to finish).
func (l *Loop) openOutput(line *Line) (io.Writer, func() error, error) {
	switch {
	case line.Redirect != "":
		flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if line.Append {
			flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		f, err := os.OpenFile(line.Redirect, flag, 0o644)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	case line.Pipe != "":
		shell := l.Shell
		if shell == "" {
			shell = "/bin/sh"
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		sh := exec.Command(shell, "-c", line.Pipe)
		sh.Stdin = pr
		sh.Stdout = l.Out
		sh.Stderr = l.Err
		if err := sh.Start(); err != nil {
			pr.Close()
			pw.Close()
			return nil, nil, fmt.Errorf("cannot run %s: %w", shell, err)
		}
		pr.Close()
		return pw, func() error {
			pw.Close()
			err := sh.Wait()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return nil // the pipeline's own status (grep finding nothing) is no error of ours
			}
			return err
		}, nil
	}
	return l.Out, func() error { return nil }, nil
}

// stopWriter remembers the first write error, so that a command printing
// into a pipeline that was closed (`log | head`) stops at its next check.
type stopWriter struct {
	w   io.Writer
	err error
}

func (s *stopWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

func isBrokenPipe(err error) bool {
	return err != nil && (errors.Is(err, os.ErrClosed) || strings.Contains(err.Error(), "broken pipe"))
}

// Run reads lines from r until it ends (Ctrl-D, end of script) or a
// command quits. On a terminal Ctrl-C at the prompt clears the line, and
// Ctrl-C during a command cancels it and returns to the prompt; in a script
// (interactive false) Ctrl-C cancels the command and ends the script.
func (l *Loop) Run(r LineReader, interactive bool) error {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)
	var stopScript bool
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-sigc:
				l.mu.Lock()
				if l.cancel != nil {
					l.cancel()
				}
				if !interactive {
					stopScript = true
				}
				l.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	for {
		text, err := r.ReadLine()
		if errors.Is(err, ErrInterrupt) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if l.RunLine(text) {
			return nil
		}
		l.mu.Lock()
		stop := stopScript
		l.mu.Unlock()
		if stop {
			return context.Canceled
		}
	}
}

// RunLine runs one line with a context that Ctrl-C (through Run's signal
// handler) cancels. It reports whether the line asked to quit.
func (l *Loop) RunLine(text string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.cancel = cancel
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.cancel = nil
		l.mu.Unlock()
		cancel()
	}()
	return l.Exec(ctx, text)
}

// RunArgs runs one command given as words (no '|' or '>' parsing), for
// one-shot subcommands such as `vmcore rd DUMP -p 1000`.
func (l *Loop) RunArgs(args []string) bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)
	go func() {
		if _, ok := <-sigc; ok {
			cancel()
		}
	}()
	return l.ExecLine(ctx, &Line{Args: args})
}

// flushFirst writes a command's warnings after the output it printed
// before them, so that both read in order on a terminal.
type flushFirst struct {
	out *bufio.Writer
	w   io.Writer
}

func (f *flushFirst) Write(p []byte) (int, error) {
	f.out.Flush()
	return f.w.Write(p)
}
