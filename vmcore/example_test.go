package vmcore_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/vmcoretools/vmcore/vmcore"
)

// demoDump is a real kdump of a Debian 6.1 kernel (makedumpfile -z -d 31),
// committed with its provenance in testdata/demo.
const demoDump = "../testdata/demo/vmcore-6.1-kdump-zstd-d31"

// Open a dump and describe it; the format is found from the content.
func ExampleOpen() {
	d, err := vmcore.Open(demoDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	fmt.Println(d.Format(), d.Arch(), d.NumCPUs(), "CPUs, dump level", d.DumpLevel())
	fmt.Println(d.Release())
	// Output:
	// kdump x86_64 2 CPUs, dump level 31
	// 6.1.0-56-cloud-amd64
}

// Read physical memory; a page the dump level filtered out says so.
func ExampleDump_ReadPhys() {
	d, err := vmcore.Open(demoDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	buf := make([]byte, 4096)
	var held, excluded, holes int
	for pfn := uint64(0); pfn < 4096; pfn++ {
		_, err := d.ReadPhys(buf, pfn*4096)
		switch {
		case err == nil:
			held++
		case errors.Is(err, vmcore.ErrExcluded):
			excluded++ // free, cache, user or zero pages (-d 31)
		case errors.Is(err, vmcore.ErrNotInDump):
			holes++ // not RAM: page 0, the ISA hole below 1 MiB
		default:
			log.Fatal(err)
		}
	}
	fmt.Println(held > 0, excluded > 0, holes > 0)
	// Output: true true true
}

// Read kernel virtual memory without a vmlinux: VMCOREINFO gives the
// address of init_uts_ns, whose name.release is the kernel release.
func ExampleDump_ReadVirt() {
	d, err := vmcore.Open(demoDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	info := d.Info()
	uts, _ := info.Symbol("init_uts_ns")
	name, _ := info.Offset("uts_namespace", "name")
	const fieldLen = 65 // struct new_utsname: sysname, nodename, release, ...
	buf := make([]byte, fieldLen)
	if _, err := d.ReadVirt(buf, uts+name+2*fieldLen); err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(buf[:bytes.IndexByte(buf, 0)]))
	// Output: 6.1.0-56-cloud-amd64
}

// The kernel log, from the dump alone.
func ExampleDump_KernelLog() {
	d, err := vmcore.Open(demoDump)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	records, _, err := d.KernelLog()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range records {
		if strings.HasPrefix(r.Text, "Linux version") {
			fmt.Println(r.Text[:34])
		}
	}
	// Output: Linux version 6.1.0-56-cloud-amd64
}
