package kdumpfmt

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readBitmap (straight into the words) must give what newBitmap gives from
// the same bytes, padding bits cleared, for lengths that are not whole
// words too; a short file is an error.
func TestReadBitmapMatchesNewBitmap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, nbytes := range []int64{0, 1, 7, 8, 9, 63, 4096, 4099} {
		data := make([]byte, nbytes+16)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for _, nbits := range []uint64{uint64(nbytes) * 8, uint64(nbytes)*8 - 5, uint64(nbytes) * 4} {
			if nbits > uint64(nbytes)*8 {
				continue
			}
			got, err := readBitmap(bytes.NewReader(data), 16, nbytes, nbits)
			if err != nil {
				t.Fatalf("%d bytes: %v", nbytes, err)
			}
			want := newBitmap(data[16:16+nbytes], nbits)
			if diff := cmp.Diff(allWords(want), allWords(got)); diff != "" || got.nbits != want.nbits {
				t.Errorf("%d bytes, %d bits: words differ:\n%s", nbytes, nbits, diff)
			}
		}
	}
	if _, err := readBitmap(bytes.NewReader(make([]byte, 10)), 4, 8, 64); err == nil {
		t.Error("bitmap past the end of the file: no error")
	}
}

func allWords(b *bitmap) []uint64 {
	out := make([]uint64, b.nwords)
	for w := range out {
		out[w] = b.word(uint64(w))
	}
	return out
}

// zeros is an endless run of zero bytes, a sparse file's hole.
type zeros struct{ set map[int64]byte }

func (z zeros) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	for o, v := range z.set {
		if o >= off && o < off+int64(len(p)) {
			p[o-off] = v
		}
	}
	return len(p), nil
}

// TestBitmapMemoryFollowsSetBits: a header claiming a huge machine over a
// hole keeps only the chunks with a bit set, and one claiming more than
// any machine is refused before any read.
func TestBitmapMemoryFollowsSetBits(t *testing.T) {
	const nbits = 1 << 32 // 512 MiB of bitmap: 16 TiB of 4 KiB pages
	bm, err := readBitmap(zeros{map[int64]byte{3 << 20: 0x10}}, 0, nbits/8, nbits)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, c := range bm.chunks {
		if c != nil {
			kept++
		}
	}
	if kept != 1 || !bm.test(3<<23+4) || bm.test(3<<23+5) {
		t.Errorf("%d chunks kept of %d; bit set: %v", kept, len(bm.chunks), bm.test(3<<23+4))
	}
	r := newRankIndex(bm)
	if r.total() != 1 || r.rank(3<<23+4) != 0 || r.rank(3<<23+5) != 1 || r.rank(nbits) != 1 {
		t.Errorf("rank: total %d, %d, %d", r.total(), r.rank(3<<23+4), r.rank(3<<23+5))
	}
	if _, err := readBitmap(zeros{}, 0, 1<<40/8, 1<<40); err == nil || !strings.Contains(err.Error(), "256 TiB") {
		t.Errorf("a bitmap of 2^40 frames: %v", err)
	}
}

// TestCountBoth: frames set in both bitmaps, so that dumpable bits
// outside RAM (a damaged bitmap) cannot make more frames dumpable than
// are in RAM.
func TestCountBoth(t *testing.T) {
	ram := newBitmap([]byte{0x0f, 0x00, 0xff}, 24)
	dump := newBitmap([]byte{0xff, 0xff, 0x01}, 24)
	if n := countBoth(ram, dump, 0, 24); n != 5 {
		t.Errorf("countBoth = %d, want 5", n)
	}
	if n := countBoth(ram, nil, 4, 20); n != 4 {
		t.Errorf("countBits(4, 20) = %d, want 4", n)
	}
}
