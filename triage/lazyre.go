package triage

import (
	"regexp"
	"sync"
)

// lazyRE is a regular expression compiled on its first use. The package's
// log patterns are many: compiled at package init they cost every program
// that links triage (the vmcore CLI, whatever its command) about 230 KB of
// heap and 70 page faults before main runs.
type lazyRE struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

// lazy returns the pattern src, compiled when first used; an invalid
// pattern panics then (the package's tests use every one).
func lazy(src string) *lazyRE { return &lazyRE{src: src} }

func (l *lazyRE) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.src) })
	return l.re
}

// MatchString is regexp.Regexp.MatchString.
func (l *lazyRE) MatchString(s string) bool { return l.get().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (l *lazyRE) FindStringSubmatch(s string) []string { return l.get().FindStringSubmatch(s) }

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (l *lazyRE) ReplaceAllString(src, repl string) string {
	return l.get().ReplaceAllString(src, repl)
}
