// Package progress draws the progress of long work on one terminal line:
// what is being done, how far (a percentage and counts when the total is
// known), the rate, and an estimate of the time left. It draws nothing
// for work that ends within a second, and nothing at all for a nil
// Meter, which is what callers use when their stderr is no terminal.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Meter is one line of progress. Its methods are safe for concurrent use
// and do nothing on a nil Meter.
type Meter struct {
	w     io.Writer
	label string
	unit  string // "pages", "tasks", "bytes"

	mu       sync.Mutex
	start    time.Time
	lastDraw time.Time
	shown    bool
	now      func() time.Time // tests set it
}

// Delay is how long work runs before its progress is drawn, and Every how
// often the line is redrawn.
const (
	Delay = time.Second
	Every = 200 * time.Millisecond
)

// New returns a Meter writing to w (a terminal), or nil when w is nil.
func New(w io.Writer, label, unit string) *Meter {
	if w == nil {
		return nil
	}
	return &Meter{w: w, label: label, unit: unit, now: time.Now}
}

// Update reports done of total units (total 0: unknown). The first call
// starts the clock; the line appears once Delay has passed.
func (m *Meter) Update(done, total int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.start.IsZero() {
		m.start = now
		return
	}
	el := now.Sub(m.start)
	if el < Delay || now.Sub(m.lastDraw) < Every {
		return
	}
	m.lastDraw = now
	m.shown = true
	fmt.Fprintf(m.w, "\r%s\x1b[K", Line(m.label, m.unit, done, total, el))
}

// Clear removes the line, if drawn, and restarts the clock for the next
// piece of work.
func (m *Meter) Clear() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shown {
		fmt.Fprint(m.w, "\r\x1b[K")
	}
	m.shown = false
	m.start = time.Time{}
	m.lastDraw = time.Time{}
}

// Line is the text of a progress line after el of work.
func Line(label, unit string, done, total int64, el time.Duration) string {
	rate := float64(done) / el.Seconds()
	word := " " + unit
	if unit == "bytes" {
		word = "" // the count says "MiB"
	}
	s := label + ": "
	if total > 0 {
		s += fmt.Sprintf("%d%% (%s of %s%s)", min(100, done*100/total), count(done, unit), count(total, unit), word)
	} else {
		s += count(done, unit) + word
	}
	s += fmt.Sprintf(", %s%s/s", count(int64(rate), unit), word)
	if total > 0 && rate > 0 && done < total {
		left := time.Duration(float64(total-done) / rate * float64(time.Second))
		s += fmt.Sprintf(", %s left", left.Round(time.Second))
	}
	return s
}

// count writes n with a k/M/G suffix; bytes in KiB/MiB/GiB.
func count(n int64, unit string) string {
	if unit == "bytes" {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprint(n)
	}
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 10_000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
