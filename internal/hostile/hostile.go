// Package hostile makes damaged variants of real and synthetic dumps and
// runs the vmcore binary's commands over them, to prove what a tool that
// reads untrusted dumps must: no panic, no hang, bounded memory, and the
// input left as it was.
//
// A Variant is one damaged file made from a base dump: cut short at a
// structure boundary, a header field set to an extreme, a sparse file a
// terabyte long, compressed pages overwritten, VMCOREINFO garbled, or
// kernel structures in memory broken (the printk ring, the task list, a
// run queue, the module list: Patch at the file offsets of their
// physical addresses). Run executes each command on each variant in its
// own process with a time limit, and records the exit status, a Go panic
// or fatal error, a timeout, the peak resident memory, and whether the
// file changed. Summarize gives one line per class of damage.
package hostile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vmcoretools/vmcore/kdumpfmt"
)

// Variant is one damaged dump.
type Variant struct {
	Class string // the kind of damage: "truncate", "header", "sparse", ...
	Name  string // what was done, for the report
	// Make writes the variant to path; Path, when set instead, names an
	// existing file used as it is (/dev/zero).
	Make func(path string) error
	Path string
}

// Patch is bytes written at a file offset.
type Patch struct {
	Off  int64
	Data []byte
}

// copyWith copies base to path and applies patches, then sets the size
// when size >= 0 (shorter: truncated; longer: sparse).
func copyWith(base, path string, size int64, patches ...Patch) error {
	in, err := os.Open(base)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	n := int64(-1)
	if size >= 0 {
		n = size
	}
	if n >= 0 {
		_, err = io.CopyN(out, in, n)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	} else {
		_, err = io.Copy(out, in)
	}
	if err == nil && size >= 0 {
		err = out.Truncate(size)
	}
	for _, p := range patches {
		if err == nil {
			_, err = out.WriteAt(p.Data, p.Off)
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// Truncated is base cut at off bytes.
func Truncated(class, base string, off int64, what string) Variant {
	return Variant{Class: class, Name: fmt.Sprintf("cut at %d (%s)", off, what), Make: func(p string) error { return copyWith(base, p, off) }}
}

// Patched is base with patches applied.
func Patched(class, base, name string, patches ...Patch) Variant {
	return Variant{Class: class, Name: name, Make: func(p string) error { return copyWith(base, p, -1, patches...) }}
}

// Sparse is base, patched, and extended to size bytes by a hole (a sparse
// file: size on disk stays that of base).
func Sparse(base string, size int64, name string, patches ...Patch) Variant {
	return Variant{Class: "sparse", Name: name, Make: func(p string) error { return copyWith(base, p, size, patches...) }}
}

func u32(v uint32, o binary.ByteOrder) []byte { b := make([]byte, 4); o.PutUint32(b, v); return b }
func u64(v uint64, o binary.ByteOrder) []byte { b := make([]byte, 8); o.PutUint64(b, v); return b }

// extremes32 and extremes64 are the values written over header fields.
var (
	extremes32 = []uint32{0, 0x7fffffff, 0xffffffff}
	extremes64 = []uint64{0, 1 << 40, 1<<63 - 1, ^uint64(0)}
)

// ELFVariants damages an ELF core: truncations at every structure
// boundary (header, each program header, the notes, each segment's start),
// extreme header, program-header and note fields, and pages overwritten.
func ELFVariants(base string) ([]Variant, error) {
	f, err := elf.Open(base)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := os.Stat(base)
	if err != nil {
		return nil, err
	}
	size := st.Size()
	o := f.ByteOrder
	var raw [64]byte
	if err := readAt(base, raw[:], 0); err != nil {
		return nil, err
	}
	phoff := int64(o.Uint64(raw[32:]))
	phent := int64(o.Uint16(raw[54:]))
	var vs []Variant
	cut := func(off int64, what string) {
		if off > 0 && off < size {
			vs = append(vs, Truncated("truncate", base, off, what))
		}
	}
	cut(16, "in the ELF header")
	cut(64, "after the ELF header")
	for i, p := range f.Progs {
		ph := phoff + int64(i)*phent
		if i < 4 || i == len(f.Progs)-1 {
			cut(ph+phent/2, fmt.Sprintf("in program header %d", i))
		}
		switch p.Type {
		case elf.PT_NOTE:
			cut(int64(p.Off)+6, "in the notes' first header")
			cut(int64(p.Off+p.Filesz/2), "in the middle of the notes")
			// A note header claiming a huge name and description.
			vs = append(vs, Patched("header", base, "note namesz 2^31", Patch{int64(p.Off), u32(1<<31, o)}),
				Patched("header", base, "note descsz 2^32-1", Patch{int64(p.Off) + 4, u32(^uint32(0), o)}))
		case elf.PT_LOAD:
			if i < 4 || i == len(f.Progs)-1 {
				cut(int64(p.Off)+4096, fmt.Sprintf("one page into segment %d", i))
			}
		}
	}
	cut(size/2, "half the file")
	cut(size-1, "one byte short")
	// e_phnum, e_phoff, e_phentsize; the first load segment's fields.
	vs = append(vs,
		Patched("header", base, "e_phnum 0xffff (PN_XNUM without sections)", Patch{56, []byte{0xff, 0xff}}),
		Patched("header", base, "e_phoff past the end", Patch{32, u64(uint64(size)+1<<20, o)}),
		Patched("header", base, "e_phentsize 1", Patch{54, []byte{1, 0}}),
	)
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || i > 3 {
			continue
		}
		ph := phoff + int64(i)*phent
		for _, v := range []uint64{1 << 40, ^uint64(0)} {
			vs = append(vs,
				Patched("header", base, fmt.Sprintf("segment %d p_offset %#x", i, v), Patch{ph + 8, u64(v, o)}),
				Patched("header", base, fmt.Sprintf("segment %d p_filesz %#x", i, v), Patch{ph + 32, u64(v, o)}),
				Patched("header", base, fmt.Sprintf("segment %d p_memsz %#x", i, v), Patch{ph + 40, u64(v, o)}),
				Patched("header", base, fmt.Sprintf("segment %d p_paddr %#x", i, v), Patch{ph + 24, u64(v, o)}))
		}
	}
	vs = append(vs, Sparse(base, 1<<40, "a terabyte: the file extended by a hole"))
	vs = append(vs, vmcoreinfoVariants(base)...)
	return vs, nil
}

// KdumpVariants damages a compressed kdump (not flattened): truncations at
// the header, sub-header, both bitmaps, the descriptors and the data;
// every 4-byte header field and every 8-byte sub-header field set to
// extremes; sparse files a terabyte long that the bitmaps claim to cover;
// compressed pages overwritten; VMCOREINFO garbled.
func KdumpVariants(base string) ([]Variant, error) {
	in, err := os.Open(base)
	if err != nil {
		return nil, err
	}
	h, sub, err := kdumpfmt.ReadHeaders(in)
	in.Close()
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(base)
	if err != nil {
		return nil, err
	}
	size := st.Size()
	o := h.ByteOrder
	bs := int64(h.BlockSize)
	subStart := bs
	bitmap := bs * int64(1+h.SubHdrSize)
	descs := bitmap + bs*int64(h.BitmapBlocks)
	var vs []Variant
	cut := func(off int64, what string) {
		if off > 0 && off < size {
			vs = append(vs, Truncated("truncate", base, off, what))
		}
	}
	cut(8, "after the signature")
	cut(200, "in the header")
	cut(subStart, "after the header")
	cut(subStart+64, "in the sub-header")
	cut(bitmap, "at the first bitmap")
	cut(bitmap+bs*int64(h.BitmapBlocks)/4, "in the first bitmap")
	cut(bitmap+bs*int64(h.BitmapBlocks)*3/4, "in the second bitmap")
	cut(descs, "at the page descriptors")
	cut(descs+36, "in the second page descriptor")
	var first [24]byte
	if readAt(base, first[:], descs) == nil {
		data := int64(o.Uint64(first[:]))
		cut(data, "at the first page's data")
		cut(data+int64(o.Uint32(first[8:]))/2, "in the first page's data")
		// Compressed pages overwritten: the first page, and pages at
		// quarters of the data.
		for _, at := range []int64{data, data + (size-data)/4, data + (size-data)/2, data + (size-data)*3/4} {
			vs = append(vs, Patched("pages", base, fmt.Sprintf("page data garbled at %d", at), Patch{at, garbage(256, at)}))
		}
		// Descriptors: a page's size beyond the block, its offset beyond
		// the file, every descriptor pointing at one page.
		vs = append(vs,
			Patched("pages", base, "descriptor size 2^32-1", Patch{descs + 8, u32(^uint32(0), o)}),
			Patched("pages", base, "descriptor offset past the end", Patch{descs, u64(uint64(size)+1<<30, o)}),
			Patched("pages", base, "descriptor offset negative", Patch{descs + 24, u64(1<<63, o)}))
	}
	cut(size/2, "half the file")
	cut(size-1, "one byte short")
	// Every 4-byte field of the header after the signature and utsname
	// (version at 8; the timeval and counters after utsname at 404).
	for off := int64(8); off < 12; off += 4 {
		for _, v := range extremes32 {
			vs = append(vs, Patched("header", base, fmt.Sprintf("header[%d]=%#x", off, v), Patch{off, u32(v, o)}))
		}
	}
	for off := int64(404); off < 464; off += 4 {
		for _, v := range extremes32 {
			vs = append(vs, Patched("header", base, fmt.Sprintf("header[%d]=%#x", off, v), Patch{off, u32(v, o)}))
		}
	}
	// Every 8-byte field of the sub-header (phys_base ... max_mapnr_64).
	for off := int64(0); off < 104; off += 8 {
		for _, v := range extremes64 {
			vs = append(vs, Patched("header", base, fmt.Sprintf("sub-header[%d]=%#x", off, v), Patch{subStart + off, u64(v, o)}))
		}
	}
	// Sparse files a terabyte long: alone, and with the header's bitmap
	// and the sub-header's max_mapnr_64 claiming 2^40 pages (a 128 GiB
	// bitmap that "fits" in the file).
	vs = append(vs,
		Sparse(base, 1<<40, "a terabyte: the file extended by a hole"),
		Sparse(base, 1<<40, "a terabyte, the bitmap claiming 2^40 pages",
			// Two bitmaps of 2^40 bits in 4 KiB blocks: 2^26 blocks.
			Patch{subStart + 96, u64(1<<40, o)}, Patch{bitmapBlocksOffset(h), u32(1<<(40-3-12+1), o)}),
		Sparse(base, 1<<40, "a terabyte, 2^31 pages marked present",
			Patch{bitmap + bs*int64(h.BitmapBlocks)/2, bytes.Repeat([]byte{0xff}, 4096)}),
	)
	_ = sub
	vs = append(vs, vmcoreinfoVariants(base)...)
	return vs, nil
}

// bitmapBlocksOffset is where disk_dump_header.bitmap_blocks lies: after
// signature, version, utsname (6*65), the timeval (8- or 4-byte fields),
// status, block_size and sub_hdr_size.
func bitmapBlocksOffset(h kdumpfmt.Header) int64 {
	if h.Layout == kdumpfmt.Layout64 {
		return 436
	}
	return 424
}

// FlatVariants damages a flattened kdump (makedumpfile -F): truncations
// in its header and records, record headers with a zero, negative or
// huge size, and an endless stream of zero-size records.
func FlatVariants(base string) ([]Variant, error) {
	st, err := os.Stat(base)
	if err != nil {
		return nil, err
	}
	size := st.Size()
	var vs []Variant
	for _, c := range []struct {
		off  int64
		what string
	}{{100, "in the flat header"}, {4096, "after the flat header"}, {4096 + 8, "in the first record header"}, {4096 + 16 + 100, "in the first record"}, {size / 2, "half the file"}, {size - 1, "one byte short"}} {
		if c.off < size {
			vs = append(vs, Truncated("truncate", base, c.off, c.what))
		}
	}
	be := binary.BigEndian
	for _, v := range []uint64{0, 1 << 63, 1 << 40, ^uint64(0)} {
		vs = append(vs, Patched("header", base, fmt.Sprintf("first record size %#x", v), Patch{4096 + 8, u64(v, be)}),
			Patched("header", base, fmt.Sprintf("first record offset %#x", v), Patch{4096, u64(v, be)}))
	}
	// An endless-looking input: the flat header, then a million
	// zero-size records (16 MiB of headers), then the rest.
	vs = append(vs, Variant{Class: "endless", Name: "2^20 zero-size records", Make: func(p string) error {
		if err := copyWith(base, p, 4096); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		rec := make([]byte, 16*4096)
		for i := 0; i < 1<<20/4096; i++ {
			if _, err := f.Write(rec); err != nil {
				f.Close()
				return err
			}
		}
		return f.Close()
	}})
	return vs, nil
}

// vmcoreinfoVariants garbles the VMCOREINFO text found in base: random
// bytes over it, values the kernel never writes, and a note cut short.
func vmcoreinfoVariants(base string) []Variant {
	at, text := findVMCOREINFO(base)
	if at < 0 {
		return nil
	}
	var vs []Variant
	vs = append(vs, Patched("vmcoreinfo", base, "VMCOREINFO overwritten with garbage", Patch{at, garbage(len(text), at)}))
	vs = append(vs, Patched("vmcoreinfo", base, "VMCOREINFO's newlines turned to spaces", Patch{at, bytes.ReplaceAll(text, []byte("\n"), []byte(" "))}))
	for _, key := range []string{"SYMBOL(prb)=", "SYMBOL(init_top_pgt)=", "SYMBOL(swapper_pg_dir)=", "PAGESIZE=", "CRASHTIME=", "KERNELOFFSET=", "NUMBER(phys_base)=", "OFFSET(printk_info.seq)=", "SYMBOL(_stext)=", "SYMBOL(vmemmap)="} {
		i := bytes.Index(text, []byte(key))
		if i < 0 {
			continue
		}
		end := i + len(key) + bytes.IndexByte(text[i+len(key):], '\n')
		if end < i+len(key) {
			continue
		}
		n := end - i - len(key)
		for _, fill := range []byte{'z', '9', '0'} {
			vs = append(vs, Patched("vmcoreinfo", base, fmt.Sprintf("%s%s", key, bytes.Repeat([]byte{fill}, n)),
				Patch{at + int64(i+len(key)), bytes.Repeat([]byte{fill}, n)}))
		}
	}
	return vs
}

// findVMCOREINFO finds the VMCOREINFO text (from OSRELEASE= to its end)
// in the first 64 MiB of a dump.
func findVMCOREINFO(base string) (int64, []byte) {
	f, err := os.Open(base)
	if err != nil {
		return -1, nil
	}
	defer f.Close()
	buf := make([]byte, 64<<20)
	n, _ := io.ReadFull(f, buf)
	buf = buf[:n]
	i := bytes.Index(buf, []byte("OSRELEASE="))
	if i < 0 {
		return -1, nil
	}
	end := i
	for end < len(buf) && buf[end] != 0 && end-i < 1<<16 {
		end++
	}
	return int64(i), append([]byte(nil), buf[i:end]...)
}

// garbage is n deterministic pseudo-random bytes.
func garbage(n int, seed int64) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

func readAt(path string, p []byte, off int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadAt(p, off)
	return err
}

// Endless are inputs that never end.
func Endless() []Variant {
	return []Variant{{Class: "endless", Name: "/dev/zero", Path: "/dev/zero"}, {Class: "endless", Name: "/dev/urandom", Path: "/dev/urandom"}}
}

// Command is one vmcore invocation; "{}" stands for the variant's path,
// "{out}" for a scratch output file.
type Command []string

// Result is one command on one variant.
type Result struct {
	Variant  Variant
	Command  Command
	Exit     int
	Panic    bool // a Go panic or fatal error
	Timeout  bool
	Modified bool // the input changed
	MaxRSS   int64
	Elapsed  time.Duration
	Stderr   string // its first lines
}

// Failed says why a result breaks the rules, or "".
func (r *Result) Failed(maxRSS int64) string {
	switch {
	case r.Panic:
		return "panicked"
	case r.Timeout:
		return "hung (timed out)"
	case r.Modified:
		return "modified its input"
	case maxRSS > 0 && r.MaxRSS > maxRSS:
		return fmt.Sprintf("used %d MiB (limit %d MiB)", r.MaxRSS>>20, maxRSS>>20)
	}
	return ""
}

// Runner runs commands of one binary over variants.
type Runner struct {
	Bin     string        // the vmcore binary
	Dir     string        // where variants are made
	Timeout time.Duration // per run
}

// Run makes v, runs every command on it, and removes it.
func (r *Runner) Run(ctx context.Context, v Variant, cmds []Command) ([]Result, error) {
	path := v.Path
	if path == "" {
		path = filepath.Join(r.Dir, "variant")
		if err := v.Make(path); err != nil {
			return nil, fmt.Errorf("making %s: %w", v.Name, err)
		}
		defer os.Remove(path)
	}
	before, err := fingerprint(path)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, c := range cmds {
		res := r.one(ctx, v, c, path)
		if after, err := fingerprint(path); err != nil || after != before {
			res.Modified = true
		}
		out = append(out, res)
	}
	return out, nil
}

func (r *Runner) one(ctx context.Context, v Variant, c Command, path string) Result {
	args := make([]string, len(c))
	outFile := filepath.Join(r.Dir, "out")
	for i, a := range c {
		a = strings.ReplaceAll(a, "{}", path)
		args[i] = strings.ReplaceAll(a, "{out}", outFile)
	}
	defer os.Remove(outFile)
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &limitedBuffer{b: &stderr, n: 64 << 10}
	cmd.Stdin = nil
	start := time.Now()
	err := cmd.Run()
	res := Result{Variant: v, Command: c, Elapsed: time.Since(start)}
	if ctx.Err() == context.DeadlineExceeded {
		res.Timeout = true
	}
	if cmd.ProcessState != nil {
		res.Exit = cmd.ProcessState.ExitCode()
		res.MaxRSS = maxRSS(cmd.ProcessState)
	} else if err != nil {
		res.Exit = -1
	}
	s := stderr.String()
	res.Panic = strings.Contains(s, "panic: ") || strings.Contains(s, "fatal error: ") || strings.Contains(s, "internal error: ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	res.Stderr = s
	return res
}

// fingerprint is a file's size, modification time and SHA-256 of its
// first and last MiB (a device's name alone).
func fingerprint(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return path, nil
	}
	h := sha256.New()
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	io.Copy(h, io.LimitReader(f, 1<<20))
	if st.Size() > 2<<20 {
		f.Seek(-1<<20, io.SeekEnd)
		io.Copy(h, f)
	}
	return fmt.Sprintf("%d %d %x", st.Size(), st.ModTime().UnixNano(), h.Sum(nil)), nil
}

type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ClassSummary is what one class of damage gave.
type ClassSummary struct {
	Class              string
	Variants, Runs     int
	Panics, Timeouts   int
	Modified, OverMem  int
	MaxRSS             int64
	MaxElapsed         time.Duration
	NonZero, ExitCodes map[int]int
}

// Summarize counts results by class.
func Summarize(results []Result, maxRSS int64) []ClassSummary {
	by := map[string]*ClassSummary{}
	seen := map[string]bool{}
	for _, r := range results {
		c := by[r.Variant.Class]
		if c == nil {
			c = &ClassSummary{Class: r.Variant.Class, ExitCodes: map[int]int{}}
			by[r.Variant.Class] = c
		}
		if k := r.Variant.Class + "\x00" + r.Variant.Name; !seen[k] {
			seen[k] = true
			c.Variants++
		}
		c.Runs++
		c.ExitCodes[r.Exit]++
		if r.Panic {
			c.Panics++
		}
		if r.Timeout {
			c.Timeouts++
		}
		if r.Modified {
			c.Modified++
		}
		if maxRSS > 0 && r.MaxRSS > maxRSS {
			c.OverMem++
		}
		c.MaxRSS = max(c.MaxRSS, r.MaxRSS)
		c.MaxElapsed = max(c.MaxElapsed, r.Elapsed)
	}
	var out []ClassSummary
	for _, c := range by {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Class < out[j].Class })
	return out
}

// Table prints the summaries, one line a class.
func Table(w io.Writer, s []ClassSummary) {
	fmt.Fprintf(w, "%-11s %8s %6s %6s %8s %8s %9s %11s  %s\n", "class", "variants", "runs", "panics", "timeouts", "modified", "peak MiB", "slowest", "exit statuses")
	for _, c := range s {
		var codes []string
		var keys []int
		for k := range c.ExitCodes {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		for _, k := range keys {
			codes = append(codes, fmt.Sprintf("%d:%d", k, c.ExitCodes[k]))
		}
		fmt.Fprintf(w, "%-11s %8d %6d %6d %8d %8d %9d %11s  %s\n", c.Class, c.Variants, c.Runs, c.Panics, c.Timeouts, c.Modified, c.MaxRSS>>20, c.MaxElapsed.Round(time.Millisecond), strings.Join(codes, " "))
	}
}
