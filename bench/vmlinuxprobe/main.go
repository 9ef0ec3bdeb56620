// Command vmlinuxprobe runs this project's path from nothing to one of
// three states, for bench/vmlinux.sh to time: "sym VMLINUX ADDR [DUMP...]"
// (address to symbol+offset), "sizeof VMLINUX [DUMP...]"
// (sizeof(struct task_struct) and offsetof comm), and "prompt VMLINUX
// DUMP..." (the dump opened, the vmlinux paired and checked against it:
// what a REPL needs before its first prompt); "index VMLINUX" builds the
// whole name index, for comparison. With a dump, sym and sizeof
// pair it first, as crash and drgn must. It prints the answer and the time
// it took.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/vmcoretools/vmcore/dwarfsym"
	"github.com/vmcoretools/vmcore/vmcore"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: vmlinuxprobe sym VMLINUX ADDR | sizeof VMLINUX | prompt VMLINUX DUMP...")
		os.Exit(2)
	}
	t0 := time.Now()
	if err := run(os.Args[1], os.Args[2], os.Args[3:]); err != nil {
		fmt.Fprintln(os.Stderr, "vmlinuxprobe:", err)
		os.Exit(1)
	}
	fmt.Printf("elapsed %.3f s\n", time.Since(t0).Seconds())
}

func run(mode, vmlinux string, args []string) error {
	switch mode {
	case "sym":
		if len(args) < 1 {
			return fmt.Errorf("sym needs an address")
		}
		addr, err := strconv.ParseUint(args[0], 16, 64)
		if err != nil {
			return err
		}
		f, err := open(vmlinux, args[1:])
		if err != nil {
			return err
		}
		fmt.Println(f.FormatAddr(addr))
	case "sizeof":
		f, err := open(vmlinux, args)
		if err != nil {
			return err
		}
		n, err := f.Sizeof("struct task_struct")
		if err != nil {
			return err
		}
		off, err := f.Offset("struct task_struct", "comm")
		if err != nil {
			return err
		}
		fmt.Printf("SIZE: %d comm: %d\n", n, off)
	case "index":
		f, err := dwarfsym.Open(vmlinux)
		if err != nil {
			return err
		}
		if err := f.IndexAll(); err != nil {
			return err
		}
		fmt.Printf("%+v\n", f.IndexStats())
	case "prompt":
		d, err := vmcore.Open(args...)
		if err != nil {
			return err
		}
		k, err := vmcore.OpenKernel(d, vmlinux, vmcore.KernelOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("release %s, KASLR offset %#x, %s", d.Release(), k.KASLROffset(), k.Banner())
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	return nil
}

// open opens the vmlinux, paired with the dump when one is named.
func open(vmlinux string, dump []string) (*dwarfsym.File, error) {
	if len(dump) == 0 {
		return dwarfsym.Open(vmlinux)
	}
	d, err := vmcore.Open(dump...)
	if err != nil {
		return nil, err
	}
	k, err := vmcore.OpenKernel(d, vmlinux, vmcore.KernelOptions{})
	if err != nil {
		return nil, err
	}
	return k.Syms, nil
}
