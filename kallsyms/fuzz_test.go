package kallsyms

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzInput packs an image for FuzzRead: six little-endian u32 offsets of
// the tables from rodata (num_syms, names, token table, token index,
// offsets, relative base), an anchor flag byte, then the region's bytes.
func fuzzInput(im *image, anchor bool) []byte {
	var b []byte
	for _, a := range []uint64{im.loc.NumSyms, im.loc.Names, im.loc.TokenTable, im.loc.TokenIndex, im.loc.Offsets, im.loc.RelativeBase} {
		b = binary.LittleEndian.AppendUint32(b, uint32(a-rodata))
	}
	if anchor {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, im.region()...)
}

func fuzzImage(data []byte) (*memory, Locations, Options, bool) {
	if len(data) < 25 {
		return nil, Locations{}, Options{}, false
	}
	at := func(i int) uint64 { return rodata + uint64(binary.LittleEndian.Uint32(data[4*i:])) }
	loc := Locations{NumSyms: at(0), Names: at(1), TokenTable: at(2), TokenIndex: at(3), Offsets: at(4), RelativeBase: at(5)}
	var opt Options
	if data[24]&1 != 0 {
		opt.Anchor = Anchor{"_stext", 0xffffffff8e000000}
	}
	return &memory{regions: map[uint64][]byte{rodata: data[25:]}}, loc, opt, true
}

// FuzzRead decodes arbitrary memory as kallsyms tables: no panic, no hang,
// a table that decodes keeps the limits, and Find agrees with Read.
func FuzzRead(f *testing.F) {
	f.Add(fuzzInput(encode(f, sampleSymbols(true), true), true))
	f.Add(fuzzInput(encode(f, sampleSymbols(false), false), false))
	f.Fuzz(func(t *testing.T, data []byte) {
		mem, loc, opt, ok := fuzzImage(data)
		if !ok {
			return
		}
		tab, err := Read(mem, loc, opt)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(tab.Symbols) == 0 || len(tab.Symbols) > MaxSymbols {
			t.Fatalf("%d symbols", len(tab.Symbols))
		}
		for _, s := range tab.Symbols {
			if s.Name == "" || len(s.Name) >= MaxNameLen {
				t.Fatalf("name %q", s.Name)
			}
		}
		first := tab.Symbols[0]
		s, ok := tab.Lookup(first.Name)
		if !ok || s.Name != first.Name {
			t.Fatalf("Lookup(%q) = %+v, %v", first.Name, s, ok)
		}
		// Find reads less than Read; what Read decodes it must agree with.
		found, err := Find(mem, loc, opt, first.Name, "jiffies_64")
		if err != nil {
			t.Fatalf("Read decodes, Find fails: %v", err)
		}
		if f, ok := found.Lookup(first.Name); !ok || f != s || found.AbsolutePercpu != tab.AbsolutePercpu {
			t.Fatalf("Find(%q) = %+v, %v; Read's %+v", first.Name, f, ok, s)
		}
	})
}

// TestFuzzSeeds checks that the committed seeds of FuzzRead decode to the
// sample kernels, so that the fuzzer starts from valid tables. With
// KALLSYMS_WRITE_SEEDS=1 it writes them first.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	seeds := map[string]bool{"absolute-percpu-anchored": true, "relative": false}
	if os.Getenv("KALLSYMS_WRITE_SEEDS") == "1" {
		for name, abs := range seeds {
			text := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", fuzzInput(encode(t, sampleSymbols(abs), abs), abs))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, abs := range seeds {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := strings.CutPrefix(strings.TrimSpace(string(text)), "go test fuzz v1\n[]byte(")
		if !ok || !strings.HasSuffix(lit, ")") {
			t.Fatalf("%s: not a go test fuzz v1 []byte seed", name)
		}
		data, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mem, loc, opt, ok := fuzzImage([]byte(data))
		if !ok {
			t.Fatalf("%s: too short", name)
		}
		tab, err := Read(mem, loc, opt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(sampleSymbols(abs), tab.Symbols); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
