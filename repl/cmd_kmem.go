package repl

import (
	"fmt"
	"io"

	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/value"
)

func init() {
	register(&Command{
		Name:    "kmem",
		Usage:   "-i",
		Summary: "kernel memory",
		Help: `  -i  the memory summary, as crash prints it: total RAM, free and used
      pages, shared pages (crash's tally of mem_map: pages not reserved
      with more than one reference), buffers (the block devices' page
      cache), cached pages, slab, huge pages, swap and the overcommit
      limit, in pages, bytes and percentages.

crash's other kmem options (-s, -S, -p, -v, -V, -z, -n, -f, -g, -h and an
address) are not here yet.`,
		Options:      []string{"-i"},
		NeedsVMLinux: true,
		Run:          runKmem,
	})
}

func runKmem(c *Context, args []string) error {
	opts, rest, err := getopt(args, "i", "")
	if err != nil {
		return err
	}
	if len(opts) != 1 || opts[0].name != "i" || len(rest) != 0 {
		return usagef("only -i is supported so far")
	}
	s := c.Session
	ks, err := s.Translator()
	if err != nil {
		return err
	}
	var vals *value.Context
	if vals, err = s.Values(); err != nil {
		return err
	}
	in, err := kmem.New(ks, vals).Info()
	if err != nil {
		return err
	}
	writeMemInfo(c.Out, in)
	for _, w := range in.Warnings {
		fmt.Fprintf(c.Err, "kmem: WARNING: %s\n", w)
	}
	return nil
}

// writeMemInfo prints kmem -i as crash 8.0.6 does.
func writeMemInfo(w io.Writer, in *kmem.Info) {
	size := func(pages uint64) string { return pagesToSize(pages, in.PageSize) }
	pct := func(n, of uint64) uint64 {
		if of == 0 {
			return 0
		}
		return n * 100 / of
	}
	line := func(label string, n uint64, of string, total uint64) {
		fmt.Fprintf(w, "%13s  %7d  %11s  %3d%% of %s\n", label, n, size(n), pct(n, total), of)
	}
	head := func(label string, n uint64) {
		fmt.Fprintf(w, "%13s  %7d  %11s         ----\n", label, n, size(n))
	}
	fmt.Fprintln(w, "                 PAGES        TOTAL      PERCENTAGE")
	total := in.TotalPages
	head("TOTAL MEM", total)
	line("FREE", in.FreePages, "TOTAL MEM", total)
	line("USED", total-min(in.FreePages, total), "TOTAL MEM", total)
	line("SHARED", in.SharedPages, "TOTAL MEM", total)
	line("BUFFERS", in.BufferPages, "TOTAL MEM", total)
	line("CACHED", in.CachedPages, "TOTAL MEM", total)
	line("SLAB", in.SlabPages, "TOTAL MEM", total)
	if in.HighPages != nil {
		high := *in.HighPages
		fmt.Fprintln(w)
		line("TOTAL HIGH", high, "TOTAL MEM", total)
		var freeHigh uint64
		if in.FreeHighPages != nil {
			freeHigh = *in.FreeHighPages
		}
		line("FREE HIGH", freeHigh, "TOTAL HIGH", high)
		low := total - high
		line("TOTAL LOW", low, "TOTAL MEM", total)
		line("FREE LOW", in.FreePages-freeHigh, "TOTAL LOW", low)
	}
	if h := in.Huge; h != nil {
		fmt.Fprintln(w)
		head("TOTAL HUGE", h.TotalPages)
		line("HUGE FREE", h.FreePages, "TOTAL HUGE", h.TotalPages)
	}
	fmt.Fprintln(w)
	if sw := in.Swap; sw != nil {
		head("TOTAL SWAP", sw.TotalPages)
		line("SWAP USED", sw.UsedPages, "TOTAL SWAP", sw.TotalPages)
		line("SWAP FREE", sw.TotalPages-min(sw.UsedPages, sw.TotalPages), "TOTAL SWAP", sw.TotalPages)
	}
	// crash leaves the commit lines out where it found no huge page
	// accounting and no overcommit_kbytes.
	if cm := in.Commit; cm != nil && in.Huge != nil {
		fmt.Fprintln(w)
		head("COMMIT LIMIT", cm.LimitPages)
		committed := uint64(cm.CommittedPages)
		if cm.LimitPages != 0 {
			line("COMMITTED", committed, "TOTAL LIMIT", cm.LimitPages)
		} else {
			head("COMMITTED", committed)
		}
	}
}

// pagesToSize is crash's pages_to_size: "0", "640 KB", "72.2 MB",
// "1.5 GB", with ".0" dropped.
func pagesToSize(pages, pageSize uint64) string {
	if pages == 0 {
		return "0"
	}
	total := float64(pages) * float64(pageSize)
	var s string
	switch {
	case total >= 1<<30:
		s = fmt.Sprintf("%.1f GB", total/(1<<30))
	case total >= 1<<20:
		s = fmt.Sprintf("%.1f MB", total/(1<<20))
	default:
		return fmt.Sprintf("%d KB", uint64(total/(1<<10)))
	}
	if n := len(s); n > 5 && s[n-5:n-3] == ".0" {
		s = s[:n-5] + s[n-3:]
	}
	return s
}
