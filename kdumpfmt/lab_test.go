package kdumpfmt

// Checks against real dumps made by the lab (a QEMU guest that crashes a
// Debian kernel and saves /proc/vmcore plus makedumpfile conversions of it
// under ~/.cache/vmcore-lab/dumps/NAME/). The dumps are too large to
// commit and the checks take minutes, so they run only when asked:
//
//	VMCORE_LAB=~/.cache/vmcore-lab go test -run Lab -v ./kdumpfmt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/physmem"
)

// labDumps returns the lab directories holding an ELF dump and at least
// one kdump-format file beside it.
func labDumps(t *testing.T) map[string][]string {
	lab := os.Getenv("VMCORE_LAB")
	if lab == "" {
		t.Skip("real-dump test not run: VMCORE_LAB is not set (bash test.sh builds the lab and sets it)")
	}
	root := filepath.Join(lab, "dumps")
	// The ELF dump is "vmcore" (saved /proc/vmcore) or "elf" (QEMU's
	// dump-guest-memory of the same paused guest as its kdump files).
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "vmcore"))
	qemu, _ := filepath.Glob(filepath.Join(root, "*", "elf"))
	found := map[string][]string{}
	for _, elfPath := range append(dirs, qemu...) {
		dir := filepath.Dir(elfPath)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			fh, err := os.Open(p)
			if err != nil || e.IsDir() {
				continue
			}
			if _, ok := Sniff(fh); ok {
				found[dir] = append(found[dir], p)
			}
			fh.Close()
		}
	}
	if len(found) == 0 {
		t.Fatalf("no lab dumps under %s (made by the real-kernel lab)", root)
	}
	return found
}

// labELF names the ELF dump of a lab directory.
func labELF(dir string) string {
	if p := filepath.Join(dir, "vmcore"); fileExists(p) {
		return p
	}
	return filepath.Join(dir, "elf")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// comparePages checks that every page f holds equals the ELF dump's page
// and that every page f lacks is reported excluded or not in the dump.
func comparePages(t *testing.T, name string, f *File, ef *elfcore.File) {
	t.Helper()
	a := make([]byte, f.PageSize())
	b := make([]byte, f.PageSize())
	var same, excluded int
	for pfn := uint64(0); pfn < f.MaxPFN(); pfn++ {
		err := f.ReadPage(pfn, a)
		switch {
		case errors.Is(err, physmem.ErrExcluded):
			excluded++
			continue
		case errors.Is(err, physmem.ErrNotInDump):
			continue
		case err != nil:
			t.Fatalf("%s: pfn %#x: %v", name, pfn, err)
		}
		if _, err := ef.ReadAt(b, int64(pfn)*int64(len(b))); err != nil {
			t.Fatalf("%s: pfn %#x is in the kdump but not readable from the ELF dump: %v", name, pfn, err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: pfn %#x differs from the ELF dump", name, pfn)
		}
		same++
	}
	if same == 0 {
		t.Fatalf("%s: no page read", name)
	}
	t.Logf("%s (%s): %d pages equal to the ELF dump, %d excluded", name, f.Format(), same, excluded)
}

func TestLabDumpsMatchELF(t *testing.T) {
	for dir, files := range labDumps(t) {
		ef, err := elfcore.Open(labELF(dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			f, err := Open(name)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(f.VMCOREINFO(), ef.VMCOREINFO()) {
				t.Errorf("%s: VMCOREINFO differs from the ELF dump's", name)
			}
			comparePages(t, filepath.Base(name), f, ef)
			st, err := f.Stats()
			if err != nil || st.Present == 0 || st.Lost != 0 {
				t.Errorf("%s: stats %+v, %v", name, st, err)
			}
			t.Logf("%s: dump level %d, %+v", filepath.Base(name), f.SubHeader.DumpLevel, st)
			f.Close()
		}
		ef.Close()
	}
}

// TestLabRewriteReadByMakedumpfile rewrites a real dump with each
// compression makedumpfile can read and checks that makedumpfile prints
// the same kernel log from it and, re-filtering it, decompresses every page
// to the ELF dump's bytes (this runs our LZO output through liblzo).
func TestLabRewriteReadByMakedumpfile(t *testing.T) {
	mdf := needMakedumpfile(t)
	for dir, files := range labDumps(t) {
		ef, err := elfcore.Open(labELF(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		f, err := Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tmp := t.TempDir()
		dmesg := func(dump, out string) ([]byte, error) {
			if msg, err := exec.Command(mdf, "--dump-dmesg", dump, out).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("makedumpfile --dump-dmesg %s: %v\n%s", dump, err, msg)
			}
			return os.ReadFile(out)
		}
		ref := rearranged(t, mdf, f, files[0], filepath.Join(tmp, "ref"))
		want, err := dmesg(ref, ref+".log")
		if err != nil {
			// makedumpfile cannot read some dumps at all (QEMU's lack what
			// its address translation needs); nothing to compare against.
			t.Logf("%s: makedumpfile cannot read the original either: %v", files[0], err)
			continue
		}
		if len(want) < 1000 {
			t.Errorf("%s: kernel log of %d bytes", files[0], len(want))
		}
		for _, c := range []Compression{None, Zlib, LZO} {
			out := filepath.Join(tmp, c.String())
			fh, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := Write(fh, FromFile(f), WriteOptions{Compression: c}); err != nil {
				t.Fatal(err)
			}
			fh.Close()
			log, err := dmesg(out, out+".log")
			if err != nil {
				t.Errorf("%v: %v", c, err)
			} else if !bytes.Equal(log, want) {
				t.Errorf("%v: makedumpfile --dump-dmesg output differs from the original's", c)
			}
			refiltered := out + ".re"
			if msg, err := exec.Command(mdf, "-c", "-d", "31", out, refiltered).CombinedOutput(); err != nil {
				t.Fatalf("makedumpfile -c -d 31 %s: %v\n%s", out, err, msg)
			}
			g, err := Open(refiltered)
			if err != nil {
				t.Fatal(err)
			}
			comparePages(t, c.String()+" refiltered by makedumpfile", g, ef)
			g.Close()
		}
	}
}

// rearranged returns the path of src as an ordinary kdump file: src itself,
// or makedumpfile -R's rearrangement of it into out when it is flattened.
func rearranged(t *testing.T, mdf string, f *File, src, out string) string {
	t.Helper()
	if !f.Flattened() {
		return src
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(mdf, "-R", out)
	cmd.Stdin = in
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("makedumpfile -R: %v %s", err, msg)
	}
	return out
}

// TestLabMakedumpfileConversions converts a lab ELF dump with the local
// makedumpfile in the ways issue 2 names (-c, -l, -d 0, -d 31, -F,
// --split) and checks each reads back equal to the ELF dump, with the
// conversion's excluded pages reported as excluded.
func TestLabMakedumpfileConversions(t *testing.T) {
	mdf := needMakedumpfile(t)
	if testing.Short() {
		t.Skip("converting real dumps takes a while")
	}
	for dir := range labDumps(t) {
		elfPath := labELF(dir)
		if filepath.Base(elfPath) != "vmcore" {
			// makedumpfile reads the kernel's /proc/vmcore, not QEMU's
			// ELF dumps ("get_elf_info: Can't get the number of PT_LOAD").
			t.Logf("%s: QEMU's ELF dump, which makedumpfile does not convert", dir)
			continue
		}
		ef, err := elfcore.Open(elfPath)
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		tmp := t.TempDir()
		run := func(args ...string) {
			t.Helper()
			if msg, err := exec.Command(mdf, args...).CombinedOutput(); err != nil {
				t.Fatalf("makedumpfile %q: %v\n%s", args, err, msg)
			}
		}
		for _, c := range []struct {
			name string
			args []string
		}{
			{"c-d31", []string{"-c", "-d", "31"}},
			{"l-d0", []string{"-l", "-d", "0"}},
			{"raw-d31", []string{"-d", "31"}},
			{"l-d1", []string{"-l", "-d", "1"}},
		} {
			out := filepath.Join(tmp, c.name)
			run(append(c.args, elfPath, out)...)
			f, err := Open(out)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			comparePages(t, c.name, f, ef)
			f.Close()
		}
		// Flattened, read directly.
		flat := filepath.Join(tmp, "flat")
		fh, _ := os.Create(flat)
		cmd := exec.Command(mdf, "-F", "-l", "-d", "31", elfPath)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = fh, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("makedumpfile -F: %v %s", err, stderr.Bytes())
		}
		fh.Close()
		f, err := Open(flat)
		if err != nil {
			t.Fatal(err)
		}
		comparePages(t, "flattened", f, ef)
		f.Close()
		// Split in three, opened in a shuffled order.
		parts := []string{filepath.Join(tmp, "s1"), filepath.Join(tmp, "s2"), filepath.Join(tmp, "s3")}
		run(append([]string{"--split", "-c", "-d", "31", elfPath}, parts...)...)
		f, err = Open(parts[2], parts[0], parts[1])
		if err != nil {
			t.Fatal(err)
		}
		if f.Format() != "kdump-split" || f.Files() != 3 || len(f.Warnings) != 0 {
			t.Errorf("split: format %s files %d warnings %q", f.Format(), f.Files(), f.Warnings)
		}
		comparePages(t, "split", f, ef)
		f.Close()
	}
}

// labVmlinux finds the debug vmlinux of the kernel whose release the dump
// directory names (the lab keeps kernels beside the dumps).
func labVmlinux(dumpDir string) string {
	rel, err := os.ReadFile(filepath.Join(dumpDir, "release"))
	if err != nil {
		return ""
	}
	home, _ := os.UserHomeDir()
	cands, _ := filepath.Glob(filepath.Join(home, ".cache", "vmcore-lab", "kernel", "*", "release"))
	for _, c := range cands {
		if r, err := os.ReadFile(c); err == nil && bytes.Equal(bytes.TrimSpace(r), bytes.TrimSpace(rel)) {
			return filepath.Join(filepath.Dir(c), "vmlinux")
		}
	}
	return ""
}

// TestLabRewriteReadByCrash rewrites a real dump with every compression,
// plain and flattened, and checks that crash prints the same "sys" and
// "log" for each as for makedumpfile's own file.
func TestLabRewriteReadByCrash(t *testing.T) {
	mdf := needMakedumpfile(t)
	crashBin, err := exec.LookPath("crash")
	if err != nil {
		t.Skip("crash not installed")
	}
	if testing.Short() {
		t.Skip("runs crash a dozen times")
	}
	checked := 0
	defer func() {
		if checked == 0 && !t.Failed() {
			t.Skip("no lab dump has a vmlinux of its release")
		}
	}()
	for dir, files := range labDumps(t) {
		// crash takes 20 s to several minutes a run on this machine: judge
		// the rewrites of one kdump and one QEMU dump of the 6.1 kernel
		// (bookworm's crash 8.0.2 does not open 6.12).
		if b := filepath.Base(dir); b != "k61-kdump" && b != "q61-panic" {
			continue
		}
		vmlinux := labVmlinux(dir)
		if vmlinux == "" {
			t.Logf("%s: no vmlinux for its release", dir)
			continue
		}
		checked++
		src := files[0]
		f, err := Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tmp := t.TempDir()
		crashRun := func(dump string) (string, error) {
			cmd := exec.Command(crashBin, "-s", vmlinux, dump)
			cmd.Stdin = bytes.NewReader([]byte("sys\nlog\nquit\n"))
			out, err := cmd.CombinedOutput()
			return string(bytes.ReplaceAll(out, []byte(dump), []byte("DUMP"))), err
		}
		crashOut := func(dump string) string {
			out, err := crashRun(dump)
			if err != nil {
				t.Fatalf("crash %s: %v\n%s", dump, err, out)
			}
			return out
		}
		// The reference: the original file (rearranged if flattened).
		want, err := crashRun(rearranged(t, mdf, f, src, filepath.Join(tmp, "ref")))
		if err != nil {
			// Bookworm's crash 8.0.2 stops on 6.12 kernels and on some
			// QEMU dumps of a running guest: nothing to compare with.
			t.Logf("%s: crash fails on the original dump itself (%v), so it cannot judge the rewrites", src, err)
			checked--
			continue
		}
		if !bytes.Contains([]byte(want), []byte("Linux version")) {
			t.Fatalf("crash shows no kernel log for the reference dump:\n%s", want)
		}
		for c := None; c <= Zstd; c++ {
			for _, flat := range []bool{false, true} {
				out := filepath.Join(tmp, fmt.Sprintf("%v-flat%v", c, flat))
				fh, err := os.Create(out)
				if err != nil {
					t.Fatal(err)
				}
				if flat {
					err = WriteFlattened(fh, FromFile(f), WriteOptions{Compression: c})
				} else {
					err = Write(fh, FromFile(f), WriteOptions{Compression: c})
				}
				fh.Close()
				if err != nil {
					t.Fatal(err)
				}
				if got := crashOut(out); got != want {
					t.Errorf("%v flat=%v: crash output differs from the reference", c, flat)
				}
			}
		}
	}
}
