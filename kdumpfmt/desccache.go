package kdumpfmt

import (
	"io"
	"sync"
)

// Page descriptors are read through a cache of 4 KiB blocks of the
// descriptor table, so that a page read costs one read of its data rather
// than two reads, and neighbouring pages share the block. The cache is
// direct-mapped and bounded (descCacheMaxSlots blocks, 8 MiB), which holds
// the whole table of dumps of up to 348,160 dumped pages.
const (
	descsPerBlock     = 170 // 4080 bytes
	descBlockBytes    = descsPerBlock * pageDescSize
	descCacheMaxSlots = 2048
)

type descBlock struct {
	block uint64 // block index + 1; 0 means empty
	n     int    // descriptors read (fewer at the end of a cut-short table)
	data  [descBlockBytes]byte
}

type descCache struct {
	mu    sync.Mutex
	slots []*descBlock
}

func newDescCache(ndesc uint64) *descCache {
	nblocks := (ndesc + descsPerBlock - 1) / descsPerBlock
	return &descCache{slots: make([]*descBlock, min(nblocks, descCacheMaxSlots))}
}

// read copies descriptor idx of part p into dst. ok is false when the
// descriptor lies past the end of the file.
func (c *descCache) read(p *part, idx uint64, dst *[pageDescSize]byte) (ok bool, err error) {
	if len(c.slots) == 0 {
		return false, nil
	}
	block := idx / descsPerBlock
	i := block % uint64(len(c.slots))
	in := int(idx % descsPerBlock)
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.slots[i]
	if b == nil || b.block != block+1 {
		if b == nil {
			b = new(descBlock)
			c.slots[i] = b
		}
		b.block = 0
		off := p.pdOff + int64(block)*descBlockBytes
		want := int(min(uint64(descsPerBlock), p.ndesc-block*descsPerBlock)) * pageDescSize
		n, err := p.r.ReadAt(b.data[:want], off)
		if n < want && err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return false, err
		}
		b.n = n / pageDescSize
		b.block = block + 1
	}
	if in >= b.n {
		return false, nil
	}
	copy(dst[:], b.data[in*pageDescSize:])
	return true, nil
}
