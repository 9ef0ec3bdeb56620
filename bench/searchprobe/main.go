// Command searchprobe measures, on one dump in one run, how fast this
// project reads physical memory and how fast it searches it: "searchprobe
// VMLINUX DUMP" reads every page of physical memory (the memory nodes'
// span, as search -p walks it) through the dump's reader, then searches
// the same span for a value that is not there (so that no output is
// counted), and prints both rates and their ratio. bench/kmem.sh runs it
// beside crash's search -p.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vmcoretools/vmcore/kmem"
	"github.com/vmcoretools/vmcore/physmem"
	"github.com/vmcoretools/vmcore/vmcore"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: searchprobe VMLINUX DUMP")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "searchprobe:", err)
		os.Exit(1)
	}
}

func run(vmlinux, path string) error {
	d, err := vmcore.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	k, err := vmcore.OpenKernel(d, vmlinux, vmcore.KernelOptions{})
	if err != nil {
		return err
	}
	defer k.Close()
	mem := k.Memory()
	start, err := mem.PhysicalStart()
	if err != nil {
		return err
	}
	// The search first, so that the read's page cache state is no better.
	var st kmem.SearchStats
	t0 := time.Now()
	q := kmem.Query{Space: kmem.Physical, Start: start, Width: 8, Values: []uint64{0x5a17ab1e0ddba11}}
	for _, err := range mem.Search(d.Phys(), q, &st) {
		if err != nil {
			return err
		}
	}
	search := time.Since(t0)
	pages := st.Read + st.Excluded + st.Absent
	ps := uint64(d.PageSize())

	// Every page of the same span, read as the search reads them.
	buf := make([]byte, ps)
	var read uint64
	t0 = time.Now()
	for i := range pages {
		addr := start + i*ps
		if _, err := d.Phys().ReadAt(buf, int64(addr)); err != nil {
			var pe *physmem.Error
			if !errors.As(err, &pe) {
				return err
			}
			continue
		}
		read++
	}
	readTime := time.Since(t0)
	if read != st.Read {
		return fmt.Errorf("the read met %d readable pages, the search %d", read, st.Read)
	}
	gb := float64(read*ps) / 1e9
	fmt.Printf("pages: %d read (%.2f GB), %d excluded, %d absent\n", read, gb, st.Excluded, st.Absent)
	fmt.Printf("read:   %.3f s  %.2f GB/s\n", readTime.Seconds(), gb/readTime.Seconds())
	fmt.Printf("search: %.3f s  %.2f GB/s\n", search.Seconds(), gb/search.Seconds())
	fmt.Printf("search/read time: %.2f\n", search.Seconds()/readTime.Seconds())
	return nil
}
