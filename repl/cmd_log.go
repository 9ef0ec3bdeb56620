package repl

import (
	"encoding/binary"
	"fmt"

	"github.com/vmcoretools/vmcore/printk"
)

func init() {
	register(&Command{
		Name:    "log",
		Usage:   "[-Ttdmc]",
		Summary: "dump system message buffer",
		Help: `Prints the kernel message buffer in log order, each record prefixed by
its timestamp in seconds since boot, as crash's log does. The log is found
through VMCOREINFO, so no vmlinux is needed.

   -T  print the timestamp as wall-clock time (boot time plus the stamp;
       the uptime comes from jiffies_64, found without a vmlinux through
       the kernel's own symbol table on 6.0 and later, else estimated from
       the last record).
   -t  no timestamps.
   -d  print the SUBSYSTEM= and DEVICE= (or dictionary) lines of a record.
   -m  print each message's level as <N> (needs the vmlinux on 5.10 and
       later kernels: VMCOREINFO does not describe the level field).
   -c  print the caller id, [T<pid>] or [C<cpu>].`,
		Options: []string{"-T", "-t", "-d", "-m", "-c"},
		Run:     runLog,
	})
}

func runLog(c *Context, args []string) error {
	opts, rest, err := getopt(args, "Ttdmcas", "")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	f := printk.Formatter{Style: printk.StyleCrash}
	for _, o := range opts {
		switch o.name {
		case "T":
			f.CTime = true
		case "t":
			f.NoTime = true
		case "d":
			f.Dict = true
		case "m":
			f.Level = true
		case "c":
			f.Caller = true
		case "a", "s":
			return fmt.Errorf("-%s is not supported", o.name)
		}
	}
	recs, warns, err := c.Session.KernelLog()
	if err != nil {
		return err
	}
	if f.Caller {
		f.CallerWidth = c.Session.callerWidth()
	}
	if f.CTime {
		bt, ok := c.Session.bootTime()
		if !ok {
			return fmt.Errorf("-T: the dump does not say when the kernel crashed")
		}
		f.BootTime = bt
	}
	if f.Level && c.Session.VMLinux == "" {
		if len(recs) > 0 && recs[0].Level == printk.Unknown {
			fmt.Fprintf(c.Err, "log: -m: message levels are unknown without the vmlinux (VMCOREINFO does not describe them)\n")
		}
	}
	var buf []byte
	missing := 0
	for i := range recs {
		if recs[i].Missing {
			missing++
			continue
		}
		buf = f.Append(buf[:0], &recs[i])
		if _, err := c.Out.Write(buf); err != nil {
			return err
		}
		if i%256 == 0 {
			if err := c.Stopped(); err != nil {
				return err
			}
		}
	}
	if missing > 0 {
		fmt.Fprintf(c.Err, "log: %d records are on pages the dump lacks\n", missing)
	}
	for _, w := range warns {
		fmt.Fprintf(c.Err, "log: WARNING: %s\n", w.Msg)
	}
	return nil
}

// callerWidth is the width crash pads -c's caller id to: 6 columns when
// the kernel's pid_max has at most five digits, 7 for six, else 8.
func (s *Session) callerWidth() int {
	if s.Debug == nil {
		// From the dump's own kallsyms (6.0 and later), as vmcore dmesg.
		w, _ := s.Dump.LogCallerWidth()
		return w
	}
	if _, lockless := s.Symbols.LookupSymbol("prb"); !lockless {
		return 8 // the record log before 5.10: crash's PID_CHARS_DEFAULT
	}
	addr, ok := s.Symbols.LookupSymbol("pid_max")
	if !ok {
		return 8
	}
	var b [4]byte
	if _, err := s.ReadVirt(b[:], addr); err != nil {
		return 8
	}
	switch pidMax := binary.LittleEndian.Uint32(b[:]); {
	case pidMax <= 99999:
		return 6
	case pidMax <= 999999:
		return 7
	}
	return 8
}
