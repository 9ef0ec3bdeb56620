package dwarfsym

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// maxSectionSize bounds any one section read into memory (compressed
// sections, or every section when the file cannot be mapped). The largest
// kernel section, .debug_info, is a few hundred MiB. On 32-bit machines
// a slice holds at most MaxInt bytes.
const maxSectionSize uint64 = min(1<<31, math.MaxInt)

// ErrClosed is returned by every method of a File after Close.
var ErrClosed = errors.New("dwarfsym: file is closed")

// ErrNoDWARF is returned by type and variable questions for an ELF file
// without .debug_info (a stripped vmlinux).
var ErrNoDWARF = errors.New("dwarfsym: no DWARF debugging information (.debug_info); a debuginfo vmlinux is needed")

// FormatError reports a malformed file: what is wrong and where.
type FormatError struct {
	Section string // ELF section, "" for the file as a whole
	Off     uint64 // offset within the section
	Msg     string
}

func (e *FormatError) Error() string {
	if e.Section == "" {
		return "dwarfsym: " + e.Msg
	}
	return fmt.Sprintf("dwarfsym: %s at offset %#x: %s", e.Section, e.Off, e.Msg)
}

// File is an open vmlinux (or any ELF file with symbols and DWARF). Its
// methods are safe for concurrent use.
type File struct {
	path   string
	r      io.ReaderAt
	size   int64
	mapped []byte // the whole file when mapped
	closer func() error
	closed atomic.Bool
	elf    *elf.File

	secMu   sync.Mutex
	secData map[string][]byte

	reloc atomic.Uint64 // KASLR offset added to relocatable symbols

	symOnce sync.Once
	syms    *symtab
	symErr  error

	dwOnce sync.Once
	dw     *dwarf.Data
	dwErr  error
	dwMu   sync.Mutex // guards dw.Type: debug/dwarf's type cache is not concurrency-safe

	idxOnce sync.Once
	idx     *index
	idxErr  error

	arOnce  sync.Once
	aranges []arange
	arErr   error

	mods moduleSymbols // added by AddModuleSymbols

	progress atomic.Pointer[func(done, total int64)] // SetProgress
}

// SetProgress sets fn to hear how far the scan of the DWARF names has
// gone (bytes of .debug_info scanned, of total) after each batch of
// compilation units: the first lookup of a type or variable may scan
// most of a kernel's hundreds of MiB. Nil stops the calls.
func (f *File) SetProgress(fn func(done, total int64)) {
	if fn == nil {
		f.progress.Store(nil)
		return
	}
	f.progress.Store(&fn)
}

// Open opens the ELF file at path, mapping it into memory where the system
// allows.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dwarfsym: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dwarfsym: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("dwarfsym: %s is a directory, not a vmlinux", path)
	}
	var file *File
	if data, unmap, err := mapFile(f, st.Size()); err == nil {
		f.Close()
		file, err = newFile(bytes.NewReader(data), st.Size(), data)
		if err != nil {
			unmap()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		file.closer = unmap
	} else {
		file, err = newFile(f, st.Size(), nil)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		file.closer = f.Close
	}
	file.path = path
	return file, nil
}

// NewFile reads an ELF file of the given size from r. Sections are read
// into memory when first needed.
func NewFile(r io.ReaderAt, size int64) (*File, error) {
	return newFile(r, size, nil)
}

func newFile(r io.ReaderAt, size int64, mapped []byte) (*File, error) {
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("dwarfsym: not a readable ELF file: %w", err)
	}
	return &File{r: r, size: size, mapped: mapped, elf: ef, secData: map[string][]byte{}}, nil
}

// Close releases the file. Strings and types already returned stay valid;
// every later call fails with ErrClosed. Close must not run concurrently
// with other methods.
func (f *File) Close() error {
	if f.closed.Swap(true) {
		return nil
	}
	if f.closer != nil {
		return f.closer()
	}
	return nil
}

// Path is the file's path, or "" for NewFile.
func (f *File) Path() string { return f.path }

// ELF returns the underlying ELF file.
func (f *File) ELF() *elf.File { return f.elf }

// section returns the contents of the named section, nil when absent.
func (f *File) section(name string) ([]byte, error) {
	if f.closed.Load() {
		return nil, ErrClosed
	}
	f.secMu.Lock()
	defer f.secMu.Unlock()
	if b, ok := f.secData[name]; ok {
		return b, nil
	}
	s := f.elf.Section(name)
	if s == nil || s.Type == elf.SHT_NOBITS {
		f.secData[name] = nil
		return nil, nil
	}
	b, err := f.sectionBytes(s)
	if err != nil {
		return nil, err
	}
	f.secData[name] = b
	return b, nil
}

func (f *File) sectionBytes(s *elf.Section) ([]byte, error) {
	end := s.Offset + s.FileSize
	if end < s.Offset || end > uint64(f.size) {
		return nil, &FormatError{s.Name, 0, fmt.Sprintf("section of %d bytes at file offset %#x runs past the end of the %d-byte file", s.FileSize, s.Offset, f.size)}
	}
	if s.Flags&elf.SHF_COMPRESSED != 0 {
		if s.Size > maxSectionSize {
			return nil, &FormatError{s.Name, 0, fmt.Sprintf("compressed section claims %d bytes uncompressed, more than the %d-byte limit", s.Size, maxSectionSize)}
		}
		b, err := s.Data()
		if err != nil {
			return nil, &FormatError{s.Name, 0, "cannot decompress: " + err.Error()}
		}
		return b, nil
	}
	if f.mapped != nil {
		return f.mapped[s.Offset:end:end], nil
	}
	if s.FileSize > maxSectionSize {
		return nil, &FormatError{s.Name, 0, fmt.Sprintf("section of %d bytes exceeds the %d-byte limit", s.FileSize, maxSectionSize)}
	}
	b := make([]byte, s.FileSize)
	if _, err := f.r.ReadAt(b, int64(s.Offset)); err != nil {
		return nil, &FormatError{s.Name, 0, "cannot read: " + err.Error()}
	}
	return b, nil
}

// BuildID returns the GNU build ID (NT_GNU_BUILD_ID) in lower-case hex,
// from any note section (a vmlinux keeps it in .notes), or "" when the file
// has none.
func (f *File) BuildID() (string, error) {
	if f.closed.Load() {
		return "", ErrClosed
	}
	for _, s := range f.elf.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		b, err := f.section(s.Name)
		if err != nil {
			return "", err
		}
		if id := findBuildID(b, f.elf.ByteOrder); id != nil {
			return hex.EncodeToString(id), nil
		}
	}
	return "", nil
}

// findBuildID walks ELF notes (4-byte aligned, as vmlinux and GNU tools
// write them) for the GNU build ID.
func findBuildID(b []byte, bo binary.ByteOrder) []byte {
	for len(b) >= 12 {
		namesz := uint64(bo.Uint32(b[0:]))
		descsz := uint64(bo.Uint32(b[4:]))
		typ := bo.Uint32(b[8:])
		b = b[12:]
		nameEnd := (namesz + 3) &^ 3
		descEnd := nameEnd + (descsz+3)&^3
		if nameEnd > uint64(len(b)) || nameEnd+descsz > uint64(len(b)) {
			return nil
		}
		if typ == ntGNUBuildID && namesz == 4 && string(b[:4]) == "GNU\x00" {
			return b[nameEnd : nameEnd+descsz]
		}
		if descEnd > uint64(len(b)) {
			return nil
		}
		b = b[descEnd:]
	}
	return nil
}

// ReadStatic reads len(p) bytes of the file's initialised data at the link-
// time virtual address addr (no KASLR offset): the contents the kernel image
// had before it ran, such as linux_banner.
func (f *File) ReadStatic(p []byte, addr uint64) (int, error) {
	if f.closed.Load() {
		return 0, ErrClosed
	}
	for _, s := range f.elf.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Addr == 0 || addr < s.Addr || addr-s.Addr >= s.Size {
			continue
		}
		if s.Type == elf.SHT_NOBITS {
			return 0, fmt.Errorf("dwarfsym: address %#x is in %s, which has no contents in the file", addr, s.Name)
		}
		b, err := f.section(s.Name)
		if err != nil {
			return 0, err
		}
		off := addr - s.Addr
		if off >= uint64(len(b)) {
			return 0, fmt.Errorf("dwarfsym: address %#x is past the contents of %s", addr, s.Name)
		}
		n := copy(p, b[off:])
		if n < len(p) {
			return n, fmt.Errorf("dwarfsym: read of %d bytes at %#x crosses the end of %s", len(p), addr, s.Name)
		}
		return n, nil
	}
	return 0, fmt.Errorf("dwarfsym: address %#x is in no section of the file", addr)
}

// Banner returns the kernel's linux_banner as the file holds it
// ("Linux version 6.1.0-... (...) #1 SMP ...\n").
func (f *File) Banner() (string, error) {
	s, ok := f.Lookup("linux_banner")
	if !ok {
		return "", errors.New("dwarfsym: no linux_banner symbol: not a Linux kernel image")
	}
	n := s.Size
	if n == 0 || n > 1024 {
		n = 1024
	}
	buf := make([]byte, n)
	m, err := f.ReadStatic(buf, s.Addr-f.reloc.Load())
	if m == 0 && err != nil {
		return "", err
	}
	buf = buf[:m]
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	if !bytes.HasPrefix(buf, []byte("Linux version ")) {
		return "", fmt.Errorf("dwarfsym: linux_banner does not start with \"Linux version\": %q", truncate(string(buf), 40))
	}
	return string(buf), nil
}

// Release returns the kernel release (uname -r) named by linux_banner.
func (f *File) Release() (string, error) {
	b, err := f.Banner()
	if err != nil {
		return "", err
	}
	return BannerRelease(b), nil
}

// BannerRelease returns the release word of a linux_banner: the third.
func BannerRelease(banner string) string {
	w := strings.Fields(banner)
	if len(w) < 3 || w[0] != "Linux" || w[1] != "version" {
		return ""
	}
	return w[2]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// DWARF returns the standard library's view of the file's DWARF, built on
// first use. Callers that decode types through it must hold no assumption of
// thread safety; File's own methods lock around it.
func (f *File) DWARF() (*dwarf.Data, error) {
	if f.closed.Load() {
		return nil, ErrClosed
	}
	f.dwOnce.Do(func() { f.dw, f.dwErr = f.loadDWARF() })
	return f.dw, f.dwErr
}

func (f *File) loadDWARF() (*dwarf.Data, error) {
	get := func(name string) []byte {
		b, err := f.section(name)
		if err != nil {
			return nil
		}
		return b
	}
	info, err := f.section(".debug_info")
	if err != nil {
		return nil, err
	}
	if len(info) == 0 {
		return nil, ErrNoDWARF
	}
	d, err := dwarf.New(get(".debug_abbrev"), get(".debug_aranges"), get(".debug_frame"), info,
		get(".debug_line"), get(".debug_pubnames"), get(".debug_ranges"), get(".debug_str"))
	if err != nil {
		return nil, fmt.Errorf("dwarfsym: %w", err)
	}
	for _, name := range []string{".debug_addr", ".debug_line_str", ".debug_str_offsets", ".debug_rnglists", ".debug_loclists"} {
		if b := get(name); len(b) > 0 {
			if err := d.AddSection(name, b); err != nil {
				return nil, fmt.Errorf("dwarfsym: %w", err)
			}
		}
	}
	return d, nil
}

// ntGNUBuildID is NT_GNU_BUILD_ID, the note type of a GNU build ID.
const ntGNUBuildID = 3
