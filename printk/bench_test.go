package printk

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkReadLockless walks a full 6.1-layout ring of 4096 descriptors and
// 128 KiB of text (the default CONFIG_LOG_BUF_SHIFT=17 ring) and formats it.
func BenchmarkReadLockless(b *testing.B) {
	l := locklessLayout(b, vmcoreinfo61)
	w := newRingWriter(12, 17)
	for i := range 6000 {
		w.add(lrec{ts: uint64(i) * 1e6, caller: uint32(i), text: fmt.Sprintf("benchmark message %d with some text", i)})
	}
	m := newVmem()
	w.install(m, &l.Lockless)
	b.ResetTimer()
	for b.Loop() {
		recs, _, err := Read(m, l)
		if err != nil || len(recs) < 2000 {
			b.Fatal(err, len(recs))
		}
		(&Formatter{}).Write(io.Discard, recs)
	}
}
