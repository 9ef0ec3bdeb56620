package kdumpfmt

import "sync"

// maxCacheSlots is the most decompressed pages kept (64 pages of 4 KiB):
// enough for the back-and-forth of walking structures that straddle a few
// pages, small enough to stay in the CPU caches. Large pages get fewer
// slots, so the cache stays within cacheBytes.
const (
	maxCacheSlots = 64
	minCacheSlots = 4
	cacheBytes    = 256 << 10
)

// pageCache is a direct-mapped cache of decoded pages, indexed by pfn.
type pageCache struct {
	mu       sync.Mutex
	pageSize int
	slots    uint64
	pfn      [maxCacheSlots]uint64
	valid    [maxCacheSlots]bool
	data     []byte // slots pages
	spare    sync.Pool
}

func (c *pageCache) init(pageSize int) {
	c.pageSize = pageSize
	c.slots = uint64(min(maxCacheSlots, max(minCacheSlots, cacheBytes/pageSize)))
	c.data = make([]byte, int(c.slots)*pageSize)
}

func (c *pageCache) slot(pfn uint64) int { return int(pfn % c.slots) }

func (c *pageCache) page(i int) []byte { return c.data[i*c.pageSize : (i+1)*c.pageSize] }

// get copies the cached page pfn into dst and reports whether it was there.
func (c *pageCache) get(pfn uint64, dst []byte) bool {
	return c.getPart(pfn, 0, dst)
}

// getPart copies the bytes of cached page pfn from offset in into dst.
func (c *pageCache) getPart(pfn uint64, in int, dst []byte) bool {
	i := c.slot(pfn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.valid[i] || c.pfn[i] != pfn {
		return false
	}
	copy(dst, c.page(i)[in:])
	return true
}

func (c *pageCache) put(pfn uint64, src []byte) {
	i := c.slot(pfn)
	c.mu.Lock()
	copy(c.page(i), src)
	c.pfn[i], c.valid[i] = pfn, true
	c.mu.Unlock()
}

// borrow returns a page buffer for a partial read; giveBack returns it.
func (c *pageCache) borrow() *[]byte {
	if b, ok := c.spare.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, c.pageSize)
	return &b
}

func (c *pageCache) giveBack(b *[]byte) { c.spare.Put(b) }
