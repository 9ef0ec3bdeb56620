package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vmcoretools/vmcore/internal/progress"
	"github.com/vmcoretools/vmcore/kdumpfmt"
	"github.com/vmcoretools/vmcore/vmcore"
)

func init() {
	register(subcommand{
		name:    "convert",
		summary: "rewrite a dump in makedumpfile's compressed format (any compression, flattened or not)",
		run:     runConvert,
		help: func(w io.Writer) {
			fs, _ := convertFlags()
			flagHelp(w, convertUsage, fs)
		},
	})
}

const convertUsage = `usage: vmcore convert [-c zstd|lzo|snappy|zlib|none] [-F] [-f] IN... OUT

IN is any dump vmcore reads (several files: one split set). Headers, notes,
VMCOREINFO and the dump level are kept; excluded pages stay excluded.
`

type convertOptions struct {
	comp        string
	flat, force bool
}

func convertFlags() (*flag.FlagSet, *convertOptions) {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	o := &convertOptions{}
	fs.StringVar(&o.comp, "c", "zstd", "page compression: zstd, lzo, snappy, zlib or none")
	fs.BoolVar(&o.flat, "F", false, "write the flattened format (makedumpfile -F); OUT may be - for stdout")
	fs.BoolVar(&o.force, "f", false, "overwrite OUT if it exists")
	return fs, o
}

func runConvert(args []string, stdout, stderr io.Writer) int {
	fs, o := convertFlags()
	files, ok := parseFlags(fs, "convert", args, stderr)
	if !ok {
		return 2
	}
	if len(files) < 2 {
		fmt.Fprint(stderr, "vmcore convert: give the dump's files and the output file\n\n")
		subcommands["convert"].help(stderr)
		return 2
	}
	comp, flat, force := &o.comp, &o.flat, &o.force
	c, err := kdumpfmt.ParseCompression(*comp)
	if err != nil {
		fmt.Fprintf(stderr, "vmcore convert: %s\n", msg(err))
		return 2
	}
	in, out := files[:len(files)-1], files[len(files)-1]
	if err := convert(in, out, c, *flat, *force, stdout, terminal(stderr)); err != nil {
		fmt.Fprintf(stderr, "vmcore convert: %s\n", msg(err))
		return 1
	}
	return 0
}

// convert writes the dump in as a kdump at out; tty, when not nil, is the
// terminal that shows its progress.
func convert(in []string, out string, c kdumpfmt.Compression, flat, force bool, stdout, tty io.Writer) error {
	d, err := vmcore.Open(in...)
	if err != nil {
		return err
	}
	defer d.Close()
	src, err := d.KdumpSource()
	if err != nil {
		return err
	}
	if m := progress.New(tty, "convert", "pages"); m != nil {
		read, total := src.ReadPage, int64(src.MaxPFN)
		src.ReadPage = func(pfn uint64, dst []byte) error {
			m.Update(int64(pfn), total)
			return read(pfn, dst)
		}
		defer m.Clear()
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
