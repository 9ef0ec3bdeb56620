package kdumpfmt

import (
	"encoding/binary"
	"io"
	"math/bits"
	"unsafe"
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

// readBitmap reads a bitmap of nbytes bytes at off straight into its words
// on a little-endian host (no second copy: each fresh page of a 1 TiB
// machine's 64 MiB bitmap pair is a page fault), converting on others.
func readBitmap(r io.ReaderAt, off, nbytes int64, nbits uint64) (*bitmap, error) {
	n := int((nbytes + 7) / 8)
	words := make([]uint64, n)
	var buf []byte
	if hostLittleEndian {
		buf = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n*8)[:nbytes]
	} else {
		buf = make([]byte, nbytes)
	}
	if len(buf) > 0 {
		if _, err := r.ReadAt(buf, off); err != nil {
			return nil, err
		}
	}
	if !hostLittleEndian {
		return newBitmap(buf, nbits), nil
	}
	bm := &bitmap{words: words, nbits: nbits}
	if w := nbits / 64; w < uint64(n) {
		bm.words[w] &= 1<<(nbits%64) - 1
		clear(bm.words[w+1:])
	}
	return bm, nil
}

// hostLittleEndian: the bitmap's bytes are in little-endian bit order, the
// same as a little-endian host's uint64 words.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

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
