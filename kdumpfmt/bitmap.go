package kdumpfmt

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"unsafe"
)

// bitmap is a page-frame bitmap as makedumpfile stores it: bit pfn is
// bit pfn%8 of byte pfn/8, which is bit pfn%64 of little-endian word pfn/64.
//
// Its words are kept in chunks of chunkWords, and a chunk whose bits are
// all clear is not kept (nil): memory grows with the frames a dump
// describes as present, not with the frames its header claims, so that a
// header claiming a huge machine over a sparse file costs reads, not
// memory.
type bitmap struct {
	chunks [][]uint64
	nwords uint64
	nbits  uint64
}

// A chunk is 512 KiB of bitmap: 2^22 frames, 16 GiB of 4 KiB pages.
const (
	chunkShift = 16
	chunkWords = 1 << chunkShift
)

// maxBitmapFrames bounds the frames a dump may claim: 2^36 frames are
// 256 TiB of 4 KiB pages, four times what x86-64's 4-level paging can
// address (46 bits). A header claiming more is corrupt, or hostile: its
// bitmaps alone would be 8 GiB each.
const maxBitmapFrames = 1 << 36

func newEmptyBitmap(nbits uint64) *bitmap {
	nwords := (nbits + 63) / 64
	return &bitmap{chunks: make([][]uint64, (nwords+chunkWords-1)/chunkWords), nwords: nwords, nbits: nbits}
}

// newBitmap builds a bitmap from bytes already in memory.
func newBitmap(b []byte, nbits uint64) *bitmap {
	nwords := (uint64(len(b)) + 7) / 8
	bm := &bitmap{chunks: make([][]uint64, (nwords+chunkWords-1)/chunkWords), nwords: nwords, nbits: nbits}
	for w := uint64(0); w < nwords; w++ {
		var word [8]byte
		copy(word[:], b[w*8:])
		if v := binary.LittleEndian.Uint64(word[:]); v != 0 {
			bm.setWord(w, v)
		}
	}
	bm.clearPadding()
	return bm
}

// readBitmap reads a bitmap of nbytes bytes at off, a chunk at a time,
// keeping the chunks that have a bit set.
func readBitmap(r io.ReaderAt, off, nbytes int64, nbits uint64) (*bitmap, error) {
	if nbits > maxBitmapFrames {
		return nil, fmt.Errorf("a bitmap of %d frames is more than the %d (256 TiB of memory) a dump can describe", nbits, uint64(maxBitmapFrames))
	}
	nwords := (uint64(nbytes) + 7) / 8
	bm := &bitmap{chunks: make([][]uint64, (nwords+chunkWords-1)/chunkWords), nwords: nwords, nbits: nbits}
	var scratch []uint64
	for c := range bm.chunks {
		start := int64(c) * chunkWords * 8
		n := min(int64(chunkWords*8), nbytes-start)
		// A chunk's words are read into a buffer of the chunk's size
		// (small bitmaps allocate small), reused until a chunk is kept.
		if int64(cap(scratch)) < (n+7)/8 {
			scratch = make([]uint64, (n+7)/8)
		}
		words := scratch[:(n+7)/8]
		clear(words)
		var buf []byte
		if hostLittleEndian {
			buf = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)[:n]
		} else {
			buf = make([]byte, n)
		}
		if _, err := r.ReadAt(buf, off+start); err != nil {
			return nil, err
		}
		if !hostLittleEndian {
			for i := range words {
				var word [8]byte
				copy(word[:], buf[i*8:])
				words[i] = binary.LittleEndian.Uint64(word[:])
			}
		}
		for _, w := range words {
			if w != 0 {
				bm.chunks[c] = words
				scratch = nil // kept: the next chunk gets its own
				break
			}
		}
	}
	bm.clearPadding()
	return bm, nil
}

// clearPadding clears the bits past the last frame, so counts are exact.
func (b *bitmap) clearPadding() {
	if w := b.nbits / 64; w < b.nwords {
		b.setWord(w, b.word(w)&(1<<(b.nbits%64)-1))
		for x := w + 1; x < b.nwords; x++ {
			if b.word(x) != 0 {
				b.setWord(x, 0)
			}
		}
	}
}

// hostLittleEndian: the bitmap's bytes are in little-endian bit order, the
// same as a little-endian host's uint64 words.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// word returns word w (0 past the end or in a chunk not kept).
func (b *bitmap) word(w uint64) uint64 {
	if w >= b.nwords {
		return 0
	}
	c := b.chunks[w>>chunkShift]
	if c == nil {
		return 0
	}
	return c[w&(chunkWords-1)]
}

// setWord sets word w, allocating its chunk when needed.
func (b *bitmap) setWord(w, v uint64) {
	c := b.chunks[w>>chunkShift]
	if c == nil {
		if v == 0 {
			return
		}
		c = make([]uint64, min(chunkWords, b.nwords-w&^(chunkWords-1)))
		b.chunks[w>>chunkShift] = c
	}
	c[w&(chunkWords-1)] = v
}

func (b *bitmap) test(pfn uint64) bool {
	if pfn >= b.nbits {
		return false
	}
	return b.word(pfn/64)&(1<<(pfn%64)) != 0
}

// rankBlockWords is the rank index granularity: one cumulative count per
// 512 bits, so a rank query adds at most eight popcounts to a lookup.
const rankBlockWords = 8

// rankIndex answers "how many set bits below pfn" in O(1): base[c] is the
// number of set bits before chunk c, and for a kept chunk counts[c][k]
// those in its words [0, k*rankBlockWords).
type rankIndex struct {
	bm     *bitmap
	base   []uint64
	counts [][]uint32
	all    uint64
}

func newRankIndex(bm *bitmap) *rankIndex {
	r := &rankIndex{bm: bm, base: make([]uint64, len(bm.chunks)), counts: make([][]uint32, len(bm.chunks))}
	var total uint64
	for c, words := range bm.chunks {
		r.base[c] = total
		if words == nil {
			continue
		}
		nblocks := (len(words) + rankBlockWords - 1) / rankBlockWords
		counts := make([]uint32, nblocks)
		var in uint32
		for k := 0; k < nblocks; k++ {
			counts[k] = in
			for _, w := range words[k*rankBlockWords : min((k+1)*rankBlockWords, len(words))] {
				in += uint32(bits.OnesCount64(w))
			}
		}
		r.counts[c] = counts
		total += uint64(in)
	}
	r.all = total
	return r
}

// rank returns the number of set bits in [0, pfn).
func (r *rankIndex) rank(pfn uint64) uint64 {
	w := pfn / 64
	if w >= r.bm.nwords {
		return r.all
	}
	c := w >> chunkShift
	n := r.base[c]
	words := r.bm.chunks[c]
	if words == nil {
		return n
	}
	i := w & (chunkWords - 1)
	k := i / rankBlockWords
	n += uint64(r.counts[c][k])
	for _, x := range words[k*rankBlockWords : i] {
		n += uint64(bits.OnesCount64(x))
	}
	return n + uint64(bits.OnesCount64(words[i]&(1<<(pfn%64)-1)))
}

// total returns the number of set bits.
func (r *rankIndex) total() uint64 { return r.all }
