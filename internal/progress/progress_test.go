package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMeterDelayAndClear(t *testing.T) {
	var b bytes.Buffer
	m := New(&b, "convert", "pages")
	now := time.Unix(0, 0)
	m.now = func() time.Time { return now }
	m.Update(0, 1000)
	now = now.Add(500 * time.Millisecond)
	m.Update(400, 1000)
	if b.Len() != 0 {
		t.Fatalf("drawn before a second: %q", b.String())
	}
	now = now.Add(600 * time.Millisecond)
	m.Update(500, 1000)
	if got := b.String(); !strings.HasPrefix(got, "\rconvert: 50% (500 of 1000 pages), 454 pages/s, 1s left") || !strings.HasSuffix(got, "\x1b[K") {
		t.Fatalf("line %q", got)
	}
	n := b.Len()
	now = now.Add(50 * time.Millisecond)
	m.Update(510, 1000)
	if b.Len() != n {
		t.Error("redrawn within 200 ms")
	}
	m.Clear()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Errorf("not cleared: %q", b.String())
	}
	// The clock restarts: the next work is quiet for its first second.
	b.Reset()
	m.Update(0, 10)
	now = now.Add(100 * time.Millisecond)
	m.Update(5, 10)
	m.Clear()
	if b.Len() != 0 {
		t.Errorf("short work drew %q", b.String())
	}
}

func TestNilMeter(t *testing.T) {
	var m *Meter = New(nil, "x", "y")
	m.Update(1, 2)
	m.Clear()
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		unit        string
		el          time.Duration
		want        string
	}{
		{50 << 20, 100 << 20, "bytes", 2 * time.Second, "x: 50% (50.0 MiB of 100.0 MiB), 25.0 MiB/s, 2s left"},
		{120, 0, "tasks", 2 * time.Second, "x: 120 tasks, 60 tasks/s"},
		{196476, 196476, "pages", 4 * time.Second, "x: 100% (196k of 196k pages), 49k pages/s"},
	} {
		if got := Line("x", c.unit, c.done, c.total, c.el); got != c.want {
			t.Errorf("Line = %q, want %q", got, c.want)
		}
	}
}
