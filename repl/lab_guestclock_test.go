package repl

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmcoretools/vmcore/internal/lab"
)

// reClockSet is the kernel's own record of the wall clock it set at boot
// (rtc_hctosys: "setting system clock to 2026-11-25T23:55:32 UTC
// (1795650932)"), as log -T prints it.
var reClockSet = regexp.MustCompile(`^\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4})\] .*setting system clock to \S+ UTC \((\d+)\)$`)

// logTLayout is crash's log -T date (strftime "%a %b %e %T %Z %Y").
const logTLayout = "Mon Jan _2 15:04:05 MST 2006"

// guestClockSlack is how far log -T may put the clock record from the
// time the record states. crash's -T adds each record's seconds since boot
// to the boot time it computes as the clock at the crash less the uptime
// counted in jiffies, both in whole seconds; jiffies start a fraction of a
// second after the clock the log stamps with, and the two truncations
// each lose up to a second. crash itself is a second off on the lab's 6.1
// dumps (checked below where its output is held); a wrong clock member, HZ
// or epoch is minutes or years off.
const guestClockSlack = 1

// TestLabLogTGuestClock checks log -T against the guest's own clock on
// every lab dump: the kernel logs, at boot, the wall-clock second it set
// from the RTC, and log -T must date that record within guestClockSlack of
// it. This is the truth for log -T where crash has none: it guesses HZ
// wrongly on 6.12, and reads no 7.x kernel.
func TestLabLogTGuestClock(t *testing.T) {
	l := lab.Open(t)
	checked := 0
	for _, d := range l.Dumps {
		t.Run(d.Name, func(t *testing.T) {
			s, done := labSession(t, d)
			defer done()
			out, errOut := runLine(t, s, "log", "-T")
			if errOut != "" {
				t.Fatalf("log -T: %s", errOut)
			}
			rendered, stated, ok := clockRecord(out)
			if !ok {
				t.Skip("the log holds no \"setting system clock\" record (no RTC read at boot)")
			}
			proved(t, d, "log -T", "guest clock")
			checked++
			diff := rendered.Unix() - stated
			t.Logf("log -T dates the clock record %+d s from the second it states", diff)
			if diff < -guestClockSlack || diff > guestClockSlack {
				t.Errorf("log -T dates the clock record %s; the kernel set the clock to %s (%+d s)",
					rendered.UTC().Format(time.RFC3339), time.Unix(stated, 0).UTC().Format(time.RFC3339), diff)
			}
			// crash's own -T, where the lab holds it and crash knows HZ,
			// shows that the slack is crash's method, not ours.
			if _, wrong := crashWrong[d.Kernel]["log -T"]; wrong {
				return
			}
			for _, ref := range crashRefs(filepath.Join(d.Ref, "crash-8.0.6")) {
				if ref.cmd != "log -T" {
					continue
				}
				want, err := os.ReadFile(ref.file)
				if err != nil {
					continue
				}
				cr, cs, ok := clockRecord(string(want))
				if !ok {
					t.Errorf("crash's log -T has no clock record where ours does")
					continue
				}
				diff := cr.Unix() - cs
				t.Logf("crash's log -T: %+d s", diff)
				if diff < -guestClockSlack || diff > guestClockSlack {
					t.Errorf("crash's log -T is %+d s off the guest clock: the slack is too narrow", diff)
				}
			}
		})
	}
	if checked == 0 {
		t.Skip("no lab dump has a clock record")
	}
}

// clockRecord finds the last clock-setting record in log -T output (an
// earlier boot's, kept in the buffer, would have another boot time) and
// returns the date log -T printed for it and the second it states.
func clockRecord(out string) (rendered time.Time, stated int64, ok bool) {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		m := reClockSet.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		r, err := time.ParseInLocation(logTLayout, m[1], time.Local)
		if err != nil {
			return time.Time{}, 0, false
		}
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return time.Time{}, 0, false
		}
		return r, n, true
	}
	return time.Time{}, 0, false
}
