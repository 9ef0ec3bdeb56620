package kdumpfmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	lzo "github.com/anchore/go-lzo"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// ErrUnsupportedCompression is returned for a page descriptor whose flags
// name no known compression.
var ErrUnsupportedCompression = errors.New("kdumpfmt: unsupported page compression")

// zstdDecoder is shared by every dump: DecodeAll is safe for concurrent use
// and the decoder's state is costly to create. The cap limit makes a
// corrupt page fail instead of growing the output past the page size.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(maxBlockSize*2))
})

// scratch holds the buffers and reusable decoder state of one page read,
// pooled so that reading a page allocates nothing in steady state.
type scratch struct {
	comp   []byte // compressed data
	zr     io.ReadCloser
	zsrc   bytes.Reader
	pdBuf  [pageDescSize]byte
	one    [1]byte // probes for zlib output past the page
	pageSz int
}

var scratchPool sync.Pool

func getScratch(pageSize int) *scratch {
	if s, ok := scratchPool.Get().(*scratch); ok && s.pageSz == pageSize {
		return s
	}
	return &scratch{comp: make([]byte, maxStoredSize(pageSize)), pageSz: pageSize}
}

func putScratch(s *scratch) { scratchPool.Put(s) }

// maxStoredSize bounds a compressed page. makedumpfile stores a page raw
// unless compression shrinks it, but other writers may not, so accept what
// the worst case of any of the four compressors can be.
func maxStoredSize(pageSize int) int { return 2 * pageSize }

// decompressPage decodes src, compressed as flags says, into dst, which is
// exactly one page long; anything but exactly one page of output is an
// error.
func (s *scratch) decompressPage(dst, src []byte, flags uint32) error {
	switch {
	case flags&CompressZlib != 0:
		s.zsrc.Reset(src)
		if s.zr == nil {
			zr, err := zlib.NewReader(&s.zsrc)
			if err != nil {
				return fmt.Errorf("zlib: %w", err)
			}
			s.zr = zr
		} else if err := s.zr.(zlib.Resetter).Reset(&s.zsrc, nil); err != nil {
			return fmt.Errorf("zlib: %w", err)
		}
		if _, err := io.ReadFull(s.zr, dst); err != nil {
			return fmt.Errorf("zlib: %w", noEOF(err))
		}
		if n, _ := s.zr.Read(s.one[:]); n != 0 {
			return errors.New("zlib: page decompresses to more than one page")
		}
		return nil
	case flags&CompressLZO != 0:
		n, err := lzo.Decompress(src, dst)
		if err != nil {
			return fmt.Errorf("lzo: %w", err)
		}
		if n != len(dst) {
			return fmt.Errorf("lzo: page decompresses to %d bytes, want %d", n, len(dst))
		}
		return nil
	case flags&CompressSnappy != 0:
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return fmt.Errorf("snappy: %w", err)
		}
		if n != len(dst) {
			return fmt.Errorf("snappy: page decompresses to %d bytes, want %d", n, len(dst))
		}
		out, err := snappy.Decode(dst, src)
		if err != nil {
			return fmt.Errorf("snappy: %w", err)
		}
		if len(out) != len(dst) || &out[0] != &dst[0] {
			return errors.New("snappy: decoded outside the page buffer")
		}
		return nil
	case flags&CompressZstd != 0:
		dec, err := zstdDecoder()
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		out, err := dec.DecodeAll(src, dst[:0])
		if err != nil {
			return fmt.Errorf("zstd: %w", err)
		}
		if len(out) != len(dst) {
			return fmt.Errorf("zstd: page decompresses to %d bytes, want %d", len(out), len(dst))
		}
		if &out[0] != &dst[0] {
			copy(dst, out)
		}
		return nil
	}
	return fmt.Errorf("%w: flags %#x", ErrUnsupportedCompression, flags)
}
