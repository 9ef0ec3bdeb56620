package kdumpfmt

import (
	"encoding/binary"
	"math/bits"
)

// bitmap is a page-frame bitmap as makedumpfile stores it: bit pfn is
// bit pfn%8 of byte pfn/8, which is bit pfn%64 of little-endian word pfn/64.
type bitmap struct {
	words []uint64
	nbits uint64
}

func newBitmap(b []byte, nbits uint64) *bitmap {
	n := (len(b) + 7) / 8
	bm := &bitmap{words: make([]uint64, n), nbits: nbits}
	full := len(b) / 8
	for i := 0; i < full; i++ {
		bm.words[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	if full < n {
		var tail [8]byte
		copy(tail[:], b[full*8:])
		bm.words[full] = binary.LittleEndian.Uint64(tail[:])
	}
	// Bits past the last frame are padding; clear them so counts are exact.
	if w := nbits / 64; w < uint64(n) {
		bm.words[w] &= 1<<(nbits%64) - 1
		clear(bm.words[w+1:])
	}
	return bm
}

func (b *bitmap) test(pfn uint64) bool {
	if pfn >= b.nbits {
		return false
	}
	return b.words[pfn/64]&(1<<(pfn%64)) != 0
}

// rankBlockWords is the rank index granularity: one cumulative count per
// 512 bits, so a rank query adds at most eight popcounts to a lookup.
const rankBlockWords = 8

// rankIndex answers "how many set bits below pfn" in O(1): counts[k] is the
// number of set bits in words [0, k*rankBlockWords).
type rankIndex struct {
	bm     *bitmap
	counts []uint64
}

func newRankIndex(bm *bitmap) *rankIndex {
	nblocks := (len(bm.words) + rankBlockWords - 1) / rankBlockWords
	r := &rankIndex{bm: bm, counts: make([]uint64, nblocks+1)}
	var total uint64
	for k := 0; k < nblocks; k++ {
		r.counts[k] = total
		end := min((k+1)*rankBlockWords, len(bm.words))
		for _, w := range bm.words[k*rankBlockWords : end] {
			total += uint64(bits.OnesCount64(w))
		}
	}
	r.counts[nblocks] = total
	return r
}

// rank returns the number of set bits in [0, pfn).
func (r *rankIndex) rank(pfn uint64) uint64 {
	if pfn >= uint64(len(r.bm.words))*64 {
		return r.counts[len(r.counts)-1]
	}
	w := pfn / 64
	k := w / rankBlockWords
	n := r.counts[k]
	for _, x := range r.bm.words[k*rankBlockWords : w] {
		n += uint64(bits.OnesCount64(x))
	}
	return n + uint64(bits.OnesCount64(r.bm.words[w]&(1<<(pfn%64)-1)))
}

// total returns the number of set bits.
func (r *rankIndex) total() uint64 { return r.counts[len(r.counts)-1] }
