package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmcoretools/vmcore/kdumpfmt"
)

// writeTestKdump writes a small kdump: 64 frames, frames 8-15 not RAM,
// frames 16-23 excluded, frames 24-31 zero, the rest filled.
func writeTestKdump(t *testing.T, dir string, c kdumpfmt.Compression) string {
	t.Helper()
	src := &kdumpfmt.Source{
		Utsname:      kdumpfmt.Utsname{Sysname: "Linux", Release: "6.1.0-test", Machine: "x86_64"},
		TimestampSec: 1764111600,
		NrCPUs:       2,
		DumpLevel:    31,
		MaxPFN:       64,
		PageSize:     4096,
		InRAM:        func(pfn uint64) bool { return pfn < 8 || pfn >= 16 },
		Dumpable:     func(pfn uint64) bool { return pfn < 16 || pfn >= 24 },
		ReadPage: func(pfn uint64, dst []byte) error {
			for i := range dst {
				dst[i] = 0
				if pfn < 24 || pfn >= 32 {
					dst[i] = byte(pfn + uint64(i)%7)
				}
			}
			return nil
		},
		VMCOREINFO: []byte("OSRELEASE=6.1.0-test\nPAGESIZE=4096\nBUILD-ID=00ff\n"),
	}
	path := filepath.Join(dir, "dump-"+c.String())
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := kdumpfmt.Write(f, src, kdumpfmt.WriteOptions{Compression: c}); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestInfoJSON(t *testing.T) {
	dir := t.TempDir()
	path := writeTestKdump(t, dir, kdumpfmt.Zstd)
	code, out, errOut := runCmd("info", "-json", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"format": "kdump", "dump_level": 31.0, "release": "6.1.0-test", "build_id": "00ff",
		"cpus": 2.0, "page_size": 4096.0, "pages_present": 48.0, "pages_excluded": 8.0, "pages_zero": 8.0, "pages_lost": 0.0,
	}
	for k, v := range want {
		if rep[k] != v {
			t.Errorf("%s = %v, want %v", k, rep[k], v)
		}
	}
	if c, _ := rep["compression"].([]any); len(c) != 1 || c[0] != "zstd" {
		t.Errorf("compression %v", rep["compression"])
	}
}

func TestInfoText(t *testing.T) {
	path := writeTestKdump(t, t.TempDir(), kdumpfmt.LZO)
	code, out, _ := runCmd("info", path)
	if code != 0 {
		t.Fatal(code)
	}
	for _, want := range []string{"format:        kdump", "compression:   lzo", "dump level:    31", "release:       6.1.0-test",
		"pages:         present 48, excluded 8, zero 8, lost 0", "memory:        224.0 KiB (56 pages)"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestInfoBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeTestKdump(t, dir, kdumpfmt.None)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("just text\n"), 0o644)
	trunc := filepath.Join(dir, "trunc")
	b, _ := os.ReadFile(good)
	os.WriteFile(trunc, b[:5000], 0o644)
	code, out, errOut := runCmd("info", "-json", text, good, trunc)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "notes.txt: not a crash dump") || !strings.Contains(lines[1], "trunc") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if strings.Count(out, `"format"`) != 1 {
		t.Errorf("want one report for the good file:\n%s", out)
	}
}

func TestConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := writeTestKdump(t, dir, kdumpfmt.Zlib)
	for _, c := range []string{"snappy", "none", "lzo", "zstd"} {
		for _, flat := range []bool{false, true} {
			out := filepath.Join(dir, "out-"+c)
			args := []string{"convert", "-f", "-c", c}
			wantFormat := "kdump"
			if flat {
				args = append(args, "-F")
				wantFormat = "kdump-flat"
			}
			if code, _, e := runCmd(append(args, in, out)...); code != 0 {
				t.Fatalf("convert %s: %s", c, e)
			}
			_, a, _ := runCmd("info", "-json", in)
			_, b, _ := runCmd("info", "-json", out)
			var ra, rb map[string]any
			json.Unmarshal([]byte(a), &ra)
			json.Unmarshal([]byte(b), &rb)
			for _, k := range []string{"dump_level", "release", "build_id", "cpus", "pages_present", "pages_excluded", "pages_zero", "crash_time"} {
				if ra[k] != rb[k] {
					t.Errorf("%s flat=%v: %s %v != %v", c, flat, k, rb[k], ra[k])
				}
			}
			if rb["format"] != wantFormat {
				t.Errorf("format %v want %s", rb["format"], wantFormat)
			}
			if comp := rb["compression"].([]any); comp[len(comp)-1] != c && !(c == "none" && comp[0] == "none") {
				t.Errorf("%s: compression %v", c, comp)
			}
		}
	}
	if code, _, e := runCmd("convert", "-c", "zstd", in, in); code == 0 || !strings.Contains(e, "overwrite the input") {
		t.Errorf("overwriting the input: exit %d %q", code, e)
	}
	if code, _, e := runCmd("convert", "-c", "brotli", in, filepath.Join(dir, "x")); code != 2 || e == "" {
		t.Errorf("bad compression: exit %d %q", code, e)
	}
}

// TestDmesgSeveralDumps: several dumps in one call print one after the
// other under tail-style headers, each exactly as it prints alone, and a
// bad file among them is named on stderr without stopping the rest.
func TestDmesgSeveralDumps(t *testing.T) {
	demo := "../../testdata/demo/vmcore-6.1-kdump-zstd-d31"
	code, alone, _ := runCmd("dmesg", demo)
	if code != 0 || !strings.Contains(alone, "Linux version 6.1.0") {
		t.Fatalf("dmesg of the demo dump: exit %d\n%s", code, alone)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not a dump"), 0o644)
	code, out, errOut := runCmd("dmesg", demo, bad, demo)
	if code != 1 || !strings.Contains(errOut, "bad: not a crash dump") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	header := "==> " + demo + " <==\n"
	want := header + alone + "\n==> " + bad + " <==\n\n" + header + alone
	if out != want {
		t.Errorf("several dumps: got %d bytes, want %d", len(out), len(want))
	}
}
