// Package lzo1x compresses data in the LZO1X format that makedumpfile
// uses for -l dumps and that lzo1x_decompress_safe (liblzo2, the kernel,
// github.com/anchore/go-lzo) decodes.
//
// No pure-Go LZO compressor is available as a module, and the kdump writer
// needs one to write lzo dumps. This is a small greedy LZ77 encoder written
// from the stream format described in the kernel's
// Documentation/staging/lzo.rst: literal runs, M2 matches (3-8 bytes within
// 2 KiB) and M3 matches (any length within 16 KiB). It favours simplicity
// over ratio; its output is valid LZO1X-1 data.
package lzo1x

import "encoding/binary"

const (
	hashBits    = 14
	minMatch    = 4
	m2MaxLen    = 8
	m2MaxOffset = 0x0800
	m3MaxLen    = 33
	m3MaxOffset = 0x4000
	m3Marker    = 0x20
	m4Marker    = 0x10
)

// MaxCompressedLen bounds the output size for n input bytes.
func MaxCompressedLen(n int) int { return n + n/16 + 64 + 3 }

// Compressor holds the match-finder table; reuse one to compress without
// allocating. A Compressor is not safe for concurrent use.
type Compressor struct {
	table [1 << hashBits]int32 // position+1 of the last 4-byte sequence with this hash
}

func hash4(v uint32) uint32 { return (v * 0x1e35a7bd) >> (32 - hashBits) }

// Compress appends the LZO1X compression of src to dst[:0] and returns it.
func (c *Compressor) Compress(dst, src []byte) []byte {
	out := dst[:0]
	clear(c.table[:])
	n := len(src)
	ii := 0 // start of pending literals
	ip := minMatch
	if n >= minMatch+4 {
		for ip <= n-minMatch {
			v := binary.LittleEndian.Uint32(src[ip:])
			h := hash4(v)
			cand := int(c.table[h]) - 1
			c.table[h] = int32(ip + 1)
			if cand < 0 || ip-cand > m3MaxOffset || binary.LittleEndian.Uint32(src[cand:]) != v {
				ip += 1 + (ip-ii)>>5
				continue
			}
			mlen := minMatch
			for ip+mlen < n && src[cand+mlen] == src[ip+mlen] {
				mlen++
			}
			out = emitLiterals(out, src[ii:ip])
			out = emitMatch(out, mlen, ip-cand)
			ip += mlen
			ii = ip
		}
	}
	out = emitFinalLiterals(out, src[ii:])
	return append(out, m4Marker|1, 0, 0)
}

// emitLiterals writes a literal run that a match follows.
func emitLiterals(out, lit []byte) []byte {
	t := len(lit)
	switch {
	case t == 0:
		return out
	case t <= 3 && len(out) >= 2:
		out[len(out)-2] |= byte(t) // in the state bits of the previous match
	case t <= 18:
		out = append(out, byte(t-3))
	default:
		out = appendRunLength(append(out, 0), t-18)
	}
	return append(out, lit...)
}

func emitFinalLiterals(out, lit []byte) []byte {
	t := len(lit)
	if len(out) == 0 && t > 0 && t <= 238 {
		out = append(out, byte(17+t))
		return append(out, lit...)
	}
	return emitLiterals(out, lit)
}

// appendRunLength writes the zero bytes and final byte of a long length.
func appendRunLength(out []byte, t int) []byte {
	for t > 255 {
		out = append(out, 0)
		t -= 255
	}
	return append(out, byte(t))
}

func emitMatch(out []byte, mlen, off int) []byte {
	if mlen <= m2MaxLen && off <= m2MaxOffset {
		off--
		return append(out, byte((mlen-1)<<5|(off&7)<<2), byte(off>>3))
	}
	off--
	if mlen <= m3MaxLen {
		out = append(out, byte(m3Marker|(mlen-2)))
	} else {
		out = appendRunLength(append(out, m3Marker), mlen-m3MaxLen)
	}
	return append(out, byte(off<<2), byte(off>>6))
}
