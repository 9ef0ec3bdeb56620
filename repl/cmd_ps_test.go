package repl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmcoretools/vmcore/tasks"
)

func TestCenterIn(t *testing.T) {
	for _, c := range []struct {
		s     string
		w     int
		rjust bool
		want  string
	}{
		{"KSTACKP", 16, true, "     KSTACKP    "}, // odd leftover goes left
		{"TASK", 16, false, "      TASK      "},
		{"--", 16, true, "       --       "},
		{"819200", 11, false, "  819200   "}, // odd leftover goes right
		{"0", 11, false, "     0     "},
		{"ffffd0f780013b90", 16, true, "ffffd0f780013b90"},
		{"toolongforthewidth", 4, true, "toolongforthewidth"},
	} {
		if got := centerIn(c.s, c.w, c.rjust); got != c.want {
			t.Errorf("centerIn(%q, %d, %v) = %q, want %q", c.s, c.w, c.rjust, got, c.want)
		}
	}
}

func TestSinceLastRun(t *testing.T) {
	if got := nanosDHMS(90061001000000); got != "1 01:01:01.001" {
		t.Errorf("nanosDHMS = %q", got)
	}
	// Days padded to the clock's width; a last run after the clock is 0.
	if got := sinceLastRun(11*86400e9, 86400e9+12e6); got != " 9 23:59:59.988" {
		t.Errorf("sinceLastRun = %q", got)
	}
	if got := sinceLastRun(5e9, 6e9); got != "0 00:00:00.000" {
		t.Errorf("sinceLastRun of a future stamp = %q", got)
	}
}

func TestParsePolicies(t *testing.T) {
	for s, want := range map[string]uint32{
		"0": 1, "NORMAL": 1, "normal": 1, "fifo,rr": 6, "0x6": 64, "DEADLINE": 64, "idle": 32,
	} {
		got, err := parsePolicies(s)
		if err != nil || got != want {
			t.Errorf("parsePolicies(%q) = %#x, %v; want %#x", s, got, err, want)
		}
	}
	for _, s := range []string{"BOGUS", "7", "", "fifo,"} {
		if _, err := parsePolicies(s); err == nil {
			t.Errorf("parsePolicies(%q) accepted", s)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	got, err := parseCPUs("1,3-4", 6)
	if err != nil || !cmp.Equal(got, []bool{false, true, false, true, true, false}) {
		t.Errorf("parseCPUs = %v, %v", got, err)
	}
	if got, _ := parseCPUs("a", 2); !cmp.Equal(got, []bool{true, true}) {
		t.Errorf("parseCPUs(a) = %v", got)
	}
	for _, s := range []string{"x", "3-1", "-1"} {
		if _, err := parseCPUs(s, 4); err == nil {
			t.Errorf("parseCPUs(%q) accepted", s)
		}
	}
}

func TestStrToContext(t *testing.T) {
	tb := tasks.NewTable([]*tasks.Task{
		{Addr: 0xffff8e88c11fc180, PID: 1},
		{Addr: 0xffff8e88c11f8000, PID: 16},
		{Addr: 0xffff8e88c11fa0c0, PID: 26},
		{Addr: 0xffff8e88c1228000, PID: 10},
	})
	for _, c := range []struct {
		s    string
		kind int
		val  uint64
	}{
		{"1", argPID, 1},
		{"10", argPID, 10}, // decimal 10 and hex 0x10 (16) are both pids: decimal wins
		{"1a", argPID, 26}, // hexadecimal only
		{"ffff8e88c11f8000", argTask, 0xffff8e88c11f8000},
		{"0xffff8e88c11f8000", argTask, 0xffff8e88c11f8000},
		{"99999", argInvalid, 0},
		{"ffff8e88c11f8001", argInvalid, 0},
	} {
		kind, val := strToContext(tb, c.s)
		if kind != c.kind || val != c.val {
			t.Errorf("strToContext(%q) = %d, %#x; want %d, %#x", c.s, kind, val, c.kind, c.val)
		}
	}
	for s, want := range map[string]bool{"123": true, "dead": true, "0x1f": true, "lab-spin": false, "": false, "0x": false} {
		if isNumber(s) != want {
			t.Errorf("isNumber(%q) = %v", s, !want)
		}
	}
}
