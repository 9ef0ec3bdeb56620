// Package lab gives tests access to the real-kernel lab that
// testdata/lab/build.sh makes: real dumps of Debian kernels, their debuginfo
// vmlinux, and the reference tools' outputs, listed in the lab's
// manifest.tsv (documented in testdata/lab/README.md).
//
// Tests find the lab through the VMCORE_LAB environment variable, which
// test.sh sets after building the lab. Without it, Open skips the calling
// test, saying so, so that `go test ./...` on a bare checkout runs the
// hermetic tests alone.
package lab

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Env is the environment variable naming the lab directory.
const Env = "VMCORE_LAB"

// Dump is one row of the manifest, with paths made absolute.
type Dump struct {
	Name        string
	Format      string // elf, kdump, kdump-flat, kdump-split, qemu-elf, qemu-kdump-flat, qemu-kdump
	Compression string // none, zlib, lzo, snappy, zstd
	DumpLevel   int
	Kernel      string   // "5.10", "6.1", "6.12", "sid" (sid's newest: kernel/sid/release)
	Files       []string // several for a split set
	Vmlinux     string
	ELFTwin     string // name of the ELF dump holding the same memory, or ""
	Ref         string // reference-output directory
	Bytes       int64
	MadeBy      string
}

// RefFile returns the path of a reference output, e.g.
// RefFile("crash-8.0.6", "ps.txt").
func (d *Dump) RefFile(tool, name string) string { return filepath.Join(d.Ref, tool, name) }

// Lab is a built lab.
type Lab struct {
	Dir   string
	Dumps []*Dump
}

// Dump returns the dump of that name, or nil.
func (l *Lab) Dump(name string) *Dump {
	for _, d := range l.Dumps {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Open loads the lab named by VMCORE_LAB, skipping t when the variable is
// unset and failing it when the lab it names is unusable.
func Open(t testing.TB) *Lab {
	t.Helper()
	dir := os.Getenv(Env)
	if dir == "" {
		t.Skipf("real-dump test not run: %s is not set (bash test.sh builds the lab and sets it)", Env)
	}
	l, err := Load(dir)
	if err != nil {
		t.Fatalf("%s=%s: %v", Env, dir, err)
	}
	return l
}

// Load reads dir/manifest.tsv.
func Load(dir string) (*Lab, error) {
	f, err := os.Open(filepath.Join(dir, "manifest.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &Lab{Dir: dir}
	sc := bufio.NewScanner(f)
	var cols map[string]int
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range fields {
				cols[c] = i
			}
			for _, c := range []string{"name", "format", "compression", "dump_level", "kernel", "files", "vmlinux", "elf_twin", "ref"} {
				if _, ok := cols[c]; !ok {
					return nil, fmt.Errorf("manifest.tsv: no column %q", c)
				}
			}
			continue
		}
		get := func(c string) string {
			if i, ok := cols[c]; ok && i < len(fields) {
				return fields[i]
			}
			return ""
		}
		abs := func(p string) string {
			if p == "" || p == "-" {
				return ""
			}
			return filepath.Join(dir, p)
		}
		d := &Dump{
			Name: get("name"), Format: get("format"), Compression: get("compression"),
			Kernel: get("kernel"), Vmlinux: abs(get("vmlinux")), Ref: abs(get("ref")), MadeBy: get("made_by"),
		}
		if t := get("elf_twin"); t != "-" {
			d.ELFTwin = t
		}
		if d.DumpLevel, err = strconv.Atoi(get("dump_level")); err != nil {
			return nil, fmt.Errorf("manifest.tsv line %d: dump_level: %v", line, err)
		}
		d.Bytes, _ = strconv.ParseInt(get("bytes"), 10, 64)
		for _, p := range strings.Split(get("files"), ",") {
			d.Files = append(d.Files, abs(p))
		}
		l.Dumps = append(l.Dumps, d)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(l.Dumps) == 0 {
		return nil, fmt.Errorf("manifest.tsv lists no dumps")
	}
	return l, nil
}
