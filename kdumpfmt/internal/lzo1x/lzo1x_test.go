package lzo1x

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	lzo "github.com/anchore/go-lzo"
)

func roundTrip(t testing.TB, c *Compressor, src []byte) int {
	comp := c.Compress(nil, src)
	if len(comp) > MaxCompressedLen(len(src)) {
		t.Fatalf("%d bytes compress to %d, over the bound %d", len(src), len(comp), MaxCompressedLen(len(src)))
	}
	dst := make([]byte, len(src))
	n, err := lzo.Decompress(comp, dst)
	if err != nil {
		t.Fatalf("decompress %d bytes (from %d): %v", len(comp), len(src), err)
	}
	if n != len(src) || !bytes.Equal(dst, src) {
		t.Fatalf("round trip of %d bytes gave %d bytes, differing", len(src), n)
	}
	return len(comp)
}

func TestRoundTrip(t *testing.T) {
	var c Compressor
	rng := rand.New(rand.NewPCG(1, 2))
	self, _ := os.ReadFile(os.Args[0])
	cases := map[string][]byte{
		"empty":  {},
		"one":    {7},
		"zeros":  make([]byte, 4096),
		"text":   bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog. "), 200),
		"binary": self[:min(len(self), 1<<16)],
	}
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	cases["random"] = random
	for k := 1; k < 300; k++ {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(rng.IntN(3))
		}
		cases["small"+string(rune('a'+k%26))+string(rune('0'+k/26))] = b
	}
	long := make([]byte, 40000) // matches farther than 16 KiB are not taken
	for i := range long {
		long[i] = byte(i * 7 / 13)
	}
	copy(long[30000:], long[:5000])
	cases["long"] = long
	for name, src := range cases {
		size := roundTrip(t, &c, src)
		if name == "zeros" && size > 64 {
			t.Errorf("4096 zeros compress to %d bytes", size)
		}
		if name == "text" && size > len(src)/5 {
			t.Errorf("repetitive text of %d bytes compresses to %d", len(src), size)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello hello hello hello"))
	f.Add(make([]byte, 100))
	var c Compressor
	f.Fuzz(func(t *testing.T, src []byte) {
		roundTrip(t, &c, src)
	})
}
