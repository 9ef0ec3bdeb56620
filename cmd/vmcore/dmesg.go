package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vmcoretools/vmcore/printk"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(subcommand{
		name:    "dmesg",
		summary: "print the kernel log of a dump, without a vmlinux",
		run:     runDmesg,
		help: func(w io.Writer) {
			fs, _ := dmesgFlags()
			flagHelp(w, dmesgUsage, fs)
		},
	})
}

const dmesgUsage = `usage: vmcore dmesg [-json] [-T] [-level] [-caller] DUMP...

Prints the kernel log from the dump's memory, using only its VMCOREINFO.
Without flags the output is that of kexec-tools vmcore-dmesg. -T, -level and
-caller switch to the layout of crash's log command (-T, -m, -c): its prefixes,
and continuation lines of a multi-line record indented by the prefix width.
The files of one split set (makedumpfile --split) are given together. Several
dumps print one after the other, each under a "==> FILES <==" line (as tail
does), so that a fleet's dumps need one process, not one each.

On 5.10 and later kernels the level and facility are not in VMCOREINFO; they
are derived from the layout of struct printk_info (see package printk).
Records on pages the dump lacks (excluded, lost, not in the dump) are named on
stderr and left out of the text output (in -json they appear with
"missing": true); the exit status stays 0 as long as the log could be walked.

-T adds the timestamp, in whole seconds, to the boot time, in local time, as
crash's log -T does: boot is the crash time (VMCOREINFO's CRASHTIME) minus the
uptime from the kernel's jiffies_64 counter, found through the kernel's own
symbol table (kallsyms, which VMCOREINFO locates from 6.0 on). A dump without
CRASHTIME (QEMU's) takes the date from the kernel's timekeeper, as crash does. The kernel's HZ
is read from its tick_nsec or, failing that, fitted to the log's clock. On
older kernels the uptime is estimated as the last record's timestamp and a
stamp can be a second off crash's.

-caller pads the caller id to crash's width: 6 characters when the kernel's
pid_max (read through kallsyms) is at most 99999, 7 up to 999999, else 8; 8 on
kernels before 5.10, as crash.
`

func dmesgFlags() (*flag.FlagSet, *dmesgOptions) {
	fs := flag.NewFlagSet("dmesg", flag.ContinueOnError)
	o := &dmesgOptions{}
	fs.BoolVar(&o.json, "json", false, "one JSON object ("+schemaLog+") per record, one per line: seq, ts_nsec, level, facility, caller, text, subsystem, device")
	fs.BoolVar(&o.ctime, "T", false, "wall-clock timestamps, as crash log -T")
	fs.BoolVar(&o.level, "level", false, "print each record's level as <N>, as crash log -m")
	fs.BoolVar(&o.caller, "caller", false, "print the caller id ([T<pid>] or [C<cpu>]), as crash log -c")
	return fs, o
}

func runDmesg(args []string, stdout, stderr io.Writer) int {
	fs, o := dmesgFlags()
	files, ok := parseFlags(fs, "dmesg", args, stderr)
	if !ok {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "vmcore dmesg: no dump file given\n\n")
		subcommands["dmesg"].help(stderr)
		return 2
	}
	opts := *o
	groups := vmcore.GroupSplitSets(files)
	status := 0
	if opts.json {
		if opts.ctime || opts.level || opts.caller {
			fmt.Fprintln(stderr, "vmcore dmesg: -T, -level and -caller shape the text; -json records carry ts_nsec, level and caller already")
			return 2
		}
		jl := newJSONLines(stdout)
		for _, files := range groups {
			if err := dmesgJSON(files, jl, stderr); err != nil {
				jl.fail(files, err)
				fmt.Fprintf(stderr, "vmcore dmesg: %s\n", msg(err))
				status = 1
			}
		}
		return status
	}
	for i, files := range groups {
		if len(groups) > 1 {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "==> %s <==\n", strings.Join(files, " "))
		}
		if !dmesgOne(files, opts, stdout, stderr) {
			status = 1
		}
	}
	return status
}

// dmesgJSON writes one vmcore.log record per log record of one dump;
// warnings go to stderr.
func dmesgJSON(files []string, jl *jsonLines, stderr io.Writer) error {
	d, err := vmcore.Open(files...)
	if err != nil {
		return err
	}
	defer d.Close()
	recs, warns, err := d.KernelLog()
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(files, ", "), err)
	}
	if err := writeLogRecords(jl, files, recs); err != nil {
		return err
	}
	for _, w := range d.Warnings() {
		fmt.Fprintf(stderr, "vmcore dmesg: warning: %s\n", w)
	}
	for _, w := range warns {
		fmt.Fprintf(stderr, "vmcore dmesg: warning: %s\n", w)
	}
	return nil
}

// writeLogRecords writes printk's JSON object of each record as a
// vmcore.log record.
func writeLogRecords(jl *jsonLines, dump []string, recs []printk.Record) error {
	f := printk.Formatter{Style: printk.StyleJSON}
	var buf []byte
	for i := range recs {
		buf = f.Append(buf[:0], &recs[i])
		if len(buf) == 0 {
			continue // a wrap marker: not a record
		}
		if err := jl.raw(schemaLog, dump, buf); err != nil {
			return err
		}
	}
	return nil
}

// dmesgOptions are the flags of vmcore dmesg.
type dmesgOptions struct{ json, ctime, level, caller bool }

// dmesgOne prints the log of one dump (one file, or the files of a split
// set); false when it could not be read.
func dmesgOne(files []string, opts dmesgOptions, stdout, stderr io.Writer) bool {
	d, err := vmcore.Open(files...)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore dmesg: %s\n", msg(err))
		return false
	}
	defer d.Close()

	recs, warns, err := d.KernelLog()
	if err != nil {
		fmt.Fprintf(stderr, "vmcore dmesg: %s: %s\n", strings.Join(files, ", "), msg(err))
		return false
	}
	f := printk.Formatter{}
	switch {
	case opts.json:
		f.Style = printk.StyleJSON
	case opts.ctime || opts.level || opts.caller:
		f.Style = printk.StyleCrash
		f.CTime, f.Level, f.Caller = opts.ctime, opts.level, opts.caller
		// Only -T and -caller need the symbol table: plain dmesg stays
		// as fast as it was.
		if opts.ctime {
			boot, note, ok := d.LogBootTime(recs)
			if note != "" {
				fmt.Fprintf(stderr, "vmcore dmesg: -T: %s\n", note)
			}
			if !ok {
				f.CTime = false
			}
			f.BootTime = boot
		}
		if opts.caller {
			w, note := d.LogCallerWidth()
			if note != "" {
				fmt.Fprintf(stderr, "vmcore dmesg: -caller: %s\n", note)
			}
			f.CallerWidth = w
		}
	}
	werr := f.Write(stdout, recs)
	for _, w := range d.Warnings() {
		fmt.Fprintf(stderr, "vmcore dmesg: warning: %s\n", w)
	}
	for _, w := range warns {
		fmt.Fprintf(stderr, "vmcore dmesg: warning: %s\n", w)
	}
	missing := 0
	for i := range recs {
		if recs[i].Missing {
			if missing < 10 {
				fmt.Fprintf(stderr, "vmcore dmesg: missing record: %v\n", recs[i].Err)
			}
			missing++
		}
	}
	if missing > 10 {
		fmt.Fprintf(stderr, "vmcore dmesg: %d records missing in all\n", missing)
	}
	if werr != nil {
		fmt.Fprintf(stderr, "vmcore dmesg: %v\n", werr)
		return false
	}
	return true
}
