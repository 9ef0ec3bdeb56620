package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmcoretools/vmcore/kdumpfmt"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(subcommand{
		name:    "convert",
		summary: "rewrite a dump in makedumpfile's compressed format (any compression, flattened or not)",
		run:     runConvert,
	})
}

func runConvert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	comp := fs.String("c", "zstd", "page compression: zstd, lzo, snappy, zlib or none")
	flat := fs.Bool("F", false, "write the flattened format (makedumpfile -F); OUT may be - for stdout")
	force := fs.Bool("f", false, "overwrite OUT if it exists")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vmcore convert [-c zstd|lzo|snappy|zlib|none] [-F] [-f] IN... OUT\n\n"+
			"IN is any dump vmcore reads (several files: one split set). Headers, notes,\n"+
			"VMCOREINFO and the dump level are kept; excluded pages stay excluded.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 2
	}
	c, err := kdumpfmt.ParseCompression(*comp)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore convert: %v\n", err)
		return 2
	}
	in, out := fs.Args()[:fs.NArg()-1], fs.Arg(fs.NArg()-1)
	if err := convert(in, out, c, *flat, *force, stdout); err != nil {
		fmt.Fprintf(stderr, "vmcore convert: %s\n", strings.TrimPrefix(err.Error(), "vmcore: "))
		return 1
	}
	return 0
}

func convert(in []string, out string, c kdumpfmt.Compression, flat, force bool, stdout io.Writer) error {
	d, err := vmcore.Open(in...)
	if err != nil {
		return err
	}
	defer d.Close()
	src, err := d.KdumpSource()
	if err != nil {
		return err
	}
	opt := kdumpfmt.WriteOptions{Compression: c}
	if out == "-" {
		if !flat {
			return fmt.Errorf("writing to stdout needs -F (the plain format must seek)")
		}
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if err := kdumpfmt.WriteFlattened(bw, src, opt); err != nil {
			return err
		}
		return bw.Flush()
	}
	for _, p := range in {
		if same, _ := sameFile(p, out); same {
			return fmt.Errorf("%s: output would overwrite the input", out)
		}
	}
	// Write to a temporary file beside OUT and rename, so that a failed
	// conversion never leaves a half-written dump under OUT's name.
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp")
	if !force {
		if _, err := os.Stat(out); err == nil {
			return fmt.Errorf("%s exists (use -f to overwrite)", out)
		}
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if flat {
		bw := bufio.NewWriterSize(f, 1<<20)
		err = kdumpfmt.WriteFlattened(bw, src, opt)
		if err == nil {
			err = bw.Flush()
		}
	} else {
		err = kdumpfmt.Write(f, src, opt)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
