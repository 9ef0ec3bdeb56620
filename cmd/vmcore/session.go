package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/internal/progress"
	"github.com/vmcoretools/vmcore/repl"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() { session = runSession }

const sessionUsage = `usage: vmcore [-c 'CMD; CMD'] [-i FILE] [-s] [VMLINUX] DUMP...

Opens a crash dump for crash-style commands. VMLINUX and DUMP may come in
either order: they are told apart by content. Without a vmlinux, the
debuginfo vmlinux of the dump's build ID is looked for in the usual places
(/usr/lib/debug/.build-id, /usr/lib/debug/boot, /boot, /lib/modules);
without one, types and symbols come from the kernel's own BTF and kallsyms
in the dump (kernels from 6.0 built with BTF): every command but source
lines works; an older kernel's dump gives log, rd, vtop and sys.

  -c 'CMD; CMD'  run the commands and exit
  -i FILE        run the commands in FILE first
  -s             silent: no banner (scripts on stdin never get one)
  -history FILE  the history file (default ~/.vmcore_history, or $VMCORE_HISTORY)
  --force        use a vmlinux that is not the dump's kernel (another release,
                 build ID or banner), which is refused otherwise; the prompt,
                 warnings and JSON records then say so
  --no-vmlinux   use no vmlinux, given or found: the dump's own BTF and
                 kallsyms; a terminal session offers this when the vmlinux
                 does not match

Commands on a non-terminal stdin run as a script, without a prompt.
Command output goes to stdout, errors to stderr; with -c or a script the
exit status is 1 when a command failed.
`

type sessionFlags struct {
	commands string
	haveC    bool
	initFile string
	silent   bool
	history  string
	files    []string
}

// parseSessionArgs reads flags anywhere on the line, as crash does.
func parseSessionArgs(args []string) (*sessionFlags, error) {
	f := &sessionFlags{history: os.Getenv("VMCORE_HISTORY")}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs an argument", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-c", "--c":
			f.haveC = true
			f.commands, err = next()
		case "-i", "--i":
			f.initFile, err = next()
		case "-s", "--s", "-silent":
			f.silent = true
		case "-history", "--history":
			f.history, err = next()
		case "--":
			f.files = append(f.files, args[i+1:]...)
			i = len(args)
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				return nil, fmt.Errorf("unknown flag %s", a)
			}
			f.files = append(f.files, a)
		}
		if err != nil {
			return nil, err
		}
	}
	return f, nil
}

func runSession(args []string, stdout, stderr io.Writer) int {
	f, err := parseSessionArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore: %v\n\n%s", err, sessionUsage)
		return 2
	}
	if len(f.files) == 0 {
		fmt.Fprint(stderr, sessionUsage)
		return 2
	}
	// A first word that is no file and looks like no path is a mistyped
	// subcommand more likely than a missing dump.
	if w := f.files[0]; !strings.ContainsAny(w, "/.") {
		if _, err := os.Stat(w); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "vmcore: %q is neither a subcommand nor a file (try 'vmcore help')\n", w)
			return 2
		}
	}
	if !f.haveC && f.initFile == "" && isTerminal(os.Stdin) && isTerminal(os.Stdout) {
		offerOwnTypes = func(err error) bool { return askOwnTypes(err, os.Stdin, stderr) }
		defer func() { offerOwnTypes = nil }()
	}
	s, closeFn, err := openSession(f.files, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore: %s\n", msg(err))
		return 1
	}
	defer closeFn()

	loop := &repl.Loop{Session: s, Out: stdout, Err: stderr, OutTerminal: terminal(stdout) != nil}
	if f.initFile != "" {
		in, err := os.Open(f.initFile)
		if err != nil {
			fmt.Fprintf(stderr, "vmcore: %s\n", msg(err))
			return 1
		}
		err = loop.Run(repl.NewScriptReader(in), false)
		in.Close()
		if err != nil {
			return 130
		}
		if loop.Quit {
			return exitStatus(loop)
		}
	}
	if f.haveC {
		for _, c := range repl.SplitCommands(f.commands) {
			if loop.RunLine(c) {
				break
			}
		}
		return exitStatus(loop)
	}
	interactive := isTerminal(os.Stdin) && isTerminal(os.Stdout)
	if !interactive {
		if err := loop.Run(repl.NewScriptReader(os.Stdin), false); err != nil {
			if errors.Is(err, context.Canceled) {
				return 130
			}
			fmt.Fprintf(stderr, "vmcore: %s\n", msg(err))
			return 1
		}
		return exitStatus(loop)
	}
	s.WarmCompletion()
	if !f.silent {
		banner(loop, stdout)
	}
	history := f.history
	if history == "" {
		if home, err := os.UserHomeDir(); err == nil {
			history = filepath.Join(home, ".vmcore_history")
		}
	}
	prompt := "vmcore> "
	if s.Mismatch != nil {
		prompt = "vmcore (WRONG VMLINUX)> " // --force: every answer is suspect
	}
	lr, err := repl.NewTerminalReader(repl.TerminalConfig{
		Prompt:      prompt,
		HistoryFile: history,
		Complete:    s.Complete,
	})
	if err != nil {
		fmt.Fprintf(stderr, "vmcore: %s\n", msg(err))
		return 1
	}
	// SIGTERM or SIGHUP at the prompt would leave the terminal in raw mode
	// (readline restores it only on its own exit path): restore, then go.
	sigs, stop := watchTermination()
	defer stop()
	var killedBy atomic.Int32
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		killedBy.Store(int32(sig))
		// Closing the reader ends loop.Run, which returns the status
		// below; should readline's Close block, exit from here.
		lr.Close()
		time.Sleep(2 * time.Second)
		os.Exit(128 + sig)
	}()
	err = loop.Run(lr, true)
	lr.Close()
	if sig := killedBy.Load(); sig != 0 {
		return 128 + int(sig)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmcore: %s\n", msg(err))
		return 1
	}
	return 0
}

func exitStatus(l *repl.Loop) int {
	if l.Failed > 0 {
		return 1
	}
	return 0
}

// banner prints what crash prints on start: the sys block, then what is
// missing without a vmlinux.
func banner(l *repl.Loop, w io.Writer) {
	fmt.Fprintln(w)
	l.RunLine("sys")
	fmt.Fprintln(w)
	if l.Session.VMLinux == "" {
		var fromBTF, needs []string
		for _, c := range repl.Commands() {
			switch {
			case c.NeedsVMLinux && c.FromBTF:
				fromBTF = append(fromBTF, c.Name)
			case c.NeedsVMLinux:
				needs = append(needs, c.Name)
			}
		}
		rel := orDash(l.Session.Dump.Release())
		var msg string
		if k, err := l.Session.OwnKernel(); err == nil {
			msg = fmt.Sprintf("No debuginfo vmlinux: types from the kernel's BTF (%d types), symbols from its kallsyms (%d symbols).",
				k.Source.Types().Count(), len(k.Source.Symbols().Symbols))
			lines := "source lines (bt -l, dis -l, the file and line of sym and sys -c)"
			if len(needs) == 0 {
				msg += fmt.Sprintf(" Every command works from them but %s, which need the vmlinux of this kernel (%s).", lines, rel)
			} else {
				msg += fmt.Sprintf(" %s work from them; %s and %s need the vmlinux of this kernel (%s).",
					strings.Join(fromBTF, ", "), strings.Join(needs, ", "), lines, rel)
			}
		} else {
			msg = fmt.Sprintf("No debuginfo vmlinux: log, rd, vtop and sys work from the dump alone; %s need the vmlinux of this kernel (%s): %v.",
				strings.Join(append(needs, fromBTF...), ", "), rel, err)
		}
		fmt.Fprint(w, wrap(msg, 78))
		fmt.Fprintf(w, "Give it as an argument: vmcore VMLINUX DUMP (on Debian: apt install linux-image-%s-dbg).\n\n", rel)
	}
}

// wrap breaks text into lines of at most width columns at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		if n > 0 && n+1+len(word) > width {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String() + "\n"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// forceVmlinux is --force: a vmlinux that is not the dump's kernel is used
// all the same, and every output says so. run sets it.
var forceVmlinux bool

// noVmlinux is --no-vmlinux: no vmlinux is used, given or found; types and
// symbols come from the dump's own BTF and kallsyms. run sets it.
var noVmlinux bool

// offerOwnTypes, when set (a terminal session), asks whether to go on
// from the dump's own BTF and kallsyms after the vmlinux was refused with
// err; openSession then does so on yes.
var offerOwnTypes func(err error) bool

// openSession tells the vmlinux from the dump files by content, opens the
// dump, and finds the vmlinux by build ID when none was given
// (vmcore.FindVmlinux: the usual places, the debuginfod cache and the
// servers of $DEBUGINFOD_URLS). A vmlinux that is not the dump's kernel is
// refused unless --force.
func openSession(files []string, stderr io.Writer) (*repl.Session, func(), error) {
	var vmlinux string
	var dumpFiles []string
	for _, p := range files {
		kind, err := classify(p)
		if err != nil {
			return nil, nil, err
		}
		switch kind {
		case fileVMLinux:
			if vmlinux != "" {
				return nil, nil, fmt.Errorf("two kernels given: %s and %s", vmlinux, p)
			}
			vmlinux = p
		default:
			dumpFiles = append(dumpFiles, p)
		}
	}
	if len(dumpFiles) == 0 {
		return nil, nil, fmt.Errorf("no dump file given (%s is a kernel, not a dump)", vmlinux)
	}
	d, err := vmcore.Open(dumpFiles...)
	if err != nil {
		return nil, nil, err
	}
	if noVmlinux {
		if vmlinux != "" {
			fmt.Fprintf(stderr, "--no-vmlinux: %s is not used\n", vmlinux)
		}
		return repl.NewSession(d, "", nil, nil), func() { d.Close() }, nil
	}
	named := vmlinux != ""
	if !named {
		vmlinux = findVMLinux(d, stderr)
	}
	if vmlinux == "" {
		return repl.NewSession(d, "", nil, nil), func() { d.Close() }, nil
	}
	f, err := dwarfsym.Open(vmlinux)
	if err != nil {
		if named {
			d.Close()
			return nil, nil, err
		}
		fmt.Fprintf(stderr, "WARNING: %s: %v; going on without it\n", vmlinux, err)
		return repl.NewSession(d, "", nil, nil), func() { d.Close() }, nil
	}
	s, err := repl.NewKernelSession(d, vmlinux, f, vmcore.KernelOptions{IgnoreMismatch: forceVmlinux})
	if err != nil {
		f.Close()
		var me *vmcore.MismatchError
		if errors.As(err, &me) {
			if me.OwnTypes && offerOwnTypes != nil && offerOwnTypes(err) {
				fmt.Fprintf(stderr, "Going on without %s: types and symbols from the dump's own BTF and kallsyms.\n", vmlinux)
				return repl.NewSession(d, "", nil, nil), func() { d.Close() }, nil
			}
			if me.OwnTypes {
				err = fmt.Errorf("%w (--no-vmlinux); or --force to use this vmlinux anyway (every output is then marked)", err)
			} else {
				err = fmt.Errorf("%w; or --force to use it anyway (every output is then marked)", err)
			}
		}
		d.Close()
		return nil, nil, err
	}
	if s.Mismatch != nil {
		fmt.Fprintf(stderr, "WARNING: --force: %v\nWARNING: every answer from this vmlinux may be wrong\n", s.Mismatch)
	} else {
		checkBanner(s, stderr)
	}
	showProgress(s, f, stderr)
	return s, func() { f.Close(); d.Close() }, nil
}

type fileKind int

const (
	fileDump fileKind = iota
	fileVMLinux
)

// classify says whether a file is a kernel image (an ELF executable) or,
// by elimination, a dump for vmcore.Open to recognise or reject.
func classify(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var hdr [18]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fileDump, nil
	}
	if !bytes.Equal(hdr[:4], []byte(elf.ELFMAG)) {
		return fileDump, nil
	}
	var typ uint16
	switch hdr[elf.EI_DATA] {
	case byte(elf.ELFDATA2LSB):
		typ = uint16(hdr[16]) | uint16(hdr[17])<<8
	case byte(elf.ELFDATA2MSB):
		typ = uint16(hdr[16])<<8 | uint16(hdr[17])
	}
	if elf.Type(typ) == elf.ET_EXEC || elf.Type(typ) == elf.ET_DYN {
		return fileVMLinux, nil
	}
	return fileDump, nil
}

// debugRoot is where findVMLinux's standard places start; tests point
// it elsewhere.
var debugRoot = "/"

// findVMLinux looks for the debuginfo vmlinux of the dump's kernel
// (vmcore.FindVmlinux), "" when there is none; a download is announced.
func findVMLinux(d *vmcore.Dump, stderr io.Writer) string {
	if d.BuildID() == "" && d.Release() == "" {
		return ""
	}
	p, err := d.FindVmlinux(context.Background(), vmcore.FindOptions{Root: debugRoot, Log: announceDownloads(stderr)})
	if err != nil {
		return ""
	}
	return p
}

// announceDownloads is a FindOptions.Log that says on w what goes over
// the network (a debuginfod request, a download) and nothing else.
func announceDownloads(w io.Writer) func(string) {
	return func(msg string) {
		if strings.HasPrefix(msg, "asking ") || strings.HasPrefix(msg, "downloaded ") {
			fmt.Fprintln(w, msg)
		}
	}
}

// checkBanner warns, as crash does, when the vmlinux's linux_banner is not
// the one in the dump's memory: the wrong kernel gives wrong answers.
func checkBanner(s *repl.Session, stderr io.Writer) {
	want, err := s.Debug.Banner()
	if err != nil {
		return
	}
	if s.Kernel != nil && s.Kernel.Banner() != "" {
		// The kernel model read it when it paired the two.
		if s.Kernel.Banner() != want {
			fmt.Fprintf(stderr, "WARNING: kernel version inconsistency between vmlinux and dumpfile\n")
		}
		return
	}
	addr, ok := s.Symbols.LookupSymbol("linux_banner")
	if !ok {
		return
	}
	got := make([]byte, len(want))
	if _, err := s.ReadVirt(got, addr); err != nil {
		fmt.Fprintf(stderr, "WARNING: cannot read linux_banner from the dump (%v): %s may not match the dump\n", err, s.VMLinux)
		return
	}
	if string(got) != want {
		fmt.Fprintf(stderr, "WARNING: kernel version inconsistency between vmlinux and dumpfile\n")
	}
}

// showProgress draws, on a terminal stderr, the progress of the long
// work of a session: the first scan of the vmlinux's DWARF names (a type
// or variable looked up the first time), and foreach over many tasks
// when its output goes elsewhere. Every command's end clears the line.
func showProgress(s *repl.Session, f *dwarfsym.File, stderr io.Writer) {
	tty := terminal(stderr)
	if tty == nil {
		return
	}
	dw := progress.New(tty, "reading the vmlinux's types", "bytes")
	f.SetProgress(dw.Update)
	var last *progress.Meter
	s.Progress = func(label, unit string) repl.Progress {
		last = progress.New(tty, label, unit)
		return last
	}
	s.AfterCommand = func() {
		dw.Clear()
		last.Clear()
	}
}

// askOwnTypes says why the vmlinux was refused and asks whether to go on
// from the dump's own BTF and kallsyms instead: yes unless the answer
// starts with n. It reads one line, byte by byte, leaving the rest of the
// terminal's input to the prompt.
func askOwnTypes(err error, in io.Reader, stderr io.Writer) bool {
	fmt.Fprintf(stderr, "vmcore: %s\n\nThe dump carries its kernel's own BTF and kallsyms. Go on from them without the vmlinux? [Y/n] ", msg(err))
	var line []byte
	var b [1]byte
	for len(line) < 256 {
		n, rerr := in.Read(b[:])
		if n == 0 || rerr != nil || b[0] == '\n' {
			if n == 0 || rerr != nil {
				fmt.Fprintln(stderr)
				return false // no answer (end of input): refuse
			}
			break
		}
		line = append(line, b[0])
	}
	answer := strings.ToLower(strings.TrimSpace(string(line)))
	return answer == "" || answer[0] == 'y'
}
