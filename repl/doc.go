// Package repl is the crash(8)-style command loop of vmcore: a table of
// commands (one file each), the line syntax crash users type — `cmd args`,
// `cmd | shell pipeline`, `cmd > file`, `cmd >> file` — and the loop that
// reads lines from a terminal (line editing, history, completion), from a
// script on a non-terminal stdin, or from `-c 'cmd; cmd'`.
//
// The command table is the single source of `help`: each Command carries its
// name, aliases, synopsis and help text, and the options and argument kinds
// that tab completion offers. Commands print in crash's layouts so that
// habits and scripts carry over.
//
// A Session holds what commands work on: the open dump and, when a vmlinux
// was given, its symbols and types through small interfaces (Symbols,
// TypeNames) that the symbol layer satisfies, so this package only formats.
// Commands that need a vmlinux say so plainly when there is none.
//
// Terminal input goes through LineReader, an interface of our own; the
// terminal implementation wraps github.com/chzyer/readline and the script
// implementation a bufio.Scanner, so the loop is tested without a terminal.
package repl
