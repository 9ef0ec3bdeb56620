package kdumpfmt

import (
	"bytes"
	"math/rand/v2"
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
			if diff := cmp.Diff(want.words, got.words); diff != "" || got.nbits != want.nbits {
				t.Errorf("%d bytes, %d bits: words differ:\n%s", nbytes, nbits, diff)
			}
		}
	}
	if _, err := readBitmap(bytes.NewReader(make([]byte, 10)), 4, 8, 64); err == nil {
		t.Error("bitmap past the end of the file: no error")
	}
}
