package printk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var sampleRecords = []Record{
	{Seq: 0, TsNsec: 0, Level: 5, Facility: 0, CallerID: 0, HasCaller: true, Text: "Linux version 6.1.0-28-amd64"},
	{Seq: 1, TsNsec: 1234567891, Level: 6, Facility: 0, CallerID: 0x80000001, HasCaller: true,
		Text: "line one\nline two\ttab\x01\x7f\xe2\x82\xac", Subsystem: "pci", Device: "+pci:0000:00:02.0"},
	{Seq: 2, TsNsec: 123456789012345, Level: 4, Facility: 0, CallerID: 4242, HasCaller: true, NoData: true},
	{Seq: 3, Missing: true, Level: Unknown, Facility: Unknown, Err: errors.New("text page excluded")},
	{Seq: 4, TsNsec: 99999999999999999, Level: Unknown, Facility: Unknown, Text: "<TASK>"},
}

func format(t *testing.T, f *Formatter, recs []Record) string {
	t.Helper()
	var b strings.Builder
	if err := f.Write(&b, recs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The vmcore-dmesg rules (kexec-tools util_lib/elf_info.c dump_record):
// "[%5llu.%06llu] ", bytes that are !isprint && !isspace as "\x%02x",
// newlines as they are, a data-less record as the bare prefix.
func TestFormatDmesg(t *testing.T) {
	want := "[    0.000000] Linux version 6.1.0-28-amd64\n" +
		"[    1.234567] line one\nline two\ttab\\x01\\x7f\\xe2\\x82\\xac\n" +
		"[123456.789012] \n" +
		"[99999999.999999] <TASK>\n"
	if diff := cmp.Diff(want, format(t, &Formatter{}, sampleRecords)); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

// crash log (printk.c dump_record): continuation lines indented by the
// prefix width, non-printables as '.', data-less records as an empty line.
func TestFormatCrash(t *testing.T) {
	recs := sampleRecords[:3]
	cases := []struct {
		name string
		f    Formatter
		want string
	}{
		{"plain", Formatter{Style: StyleCrash},
			"[    0.000000] Linux version 6.1.0-28-amd64\n" +
				"[    1.234567] line one\n" +
				"               line two\ttab.....\n" +
				"\n"},
		{"-m -c", Formatter{Style: StyleCrash, Level: true, Caller: true, CallerWidth: 6},
			"[    0.000000] [    T0] <5>Linux version 6.1.0-28-amd64\n" +
				"[    1.234567] [    C1] <6>line one\n" +
				"                           line two\ttab.....\n" +
				"\n"},
		{"-t -d", Formatter{Style: StyleCrash, NoTime: true, Dict: true},
			"Linux version 6.1.0-28-amd64\n" +
				"line one\nline two\ttab.....\nSUBSYSTEM=pci\nDEVICE=+pci:0000:00:02.0\n" +
				"\n"},
		{"-T", Formatter{Style: StyleCrash, CTime: true, Location: time.UTC, BootTime: time.Date(2026, 11, 5, 23, 0, 0, 0, time.UTC)},
			"[Thu Nov  5 23:00:00 UTC 2026] Linux version 6.1.0-28-amd64\n" +
				"[Thu Nov  5 23:00:01 UTC 2026] line one\n" +
				"                               line two\ttab.....\n" +
				"\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, format(t, &c.f, recs)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
	// 3.5-5.9 dictionaries, one entry per line.
	dict := []Record{{TsNsec: 5e9, Level: 3, Text: "usb 1-1: new device", Dict: "SUBSYSTEM=usb\x00DEVICE=c189:1"}}
	want := "[    5.000000] usb 1-1: new device\n               SUBSYSTEM=usb\n               DEVICE=c189:1\n"
	if got := format(t, &Formatter{Style: StyleCrash, Dict: true}, dict); got != want {
		t.Errorf("dict:\n%q\nwant\n%q", got, want)
	}
}

func TestFormatJSON(t *testing.T) {
	got := format(t, &Formatter{Style: StyleJSON}, sampleRecords)
	want := `{"seq":0,"ts_nsec":0,"level":5,"facility":0,"caller":"T0","text":"Linux version 6.1.0-28-amd64","subsystem":"","device":""}
{"seq":1,"ts_nsec":1234567891,"level":6,"facility":0,"caller":"C1","text":"line one\nline two\ttab\u0001€","subsystem":"pci","device":"+pci:0000:00:02.0"}
{"seq":2,"ts_nsec":123456789012345,"level":4,"facility":0,"caller":"T4242","text":"","subsystem":"","device":""}
{"seq":3,"ts_nsec":0,"level":null,"facility":null,"caller":null,"text":"","subsystem":"","device":"","missing":true,"error":"text page excluded"}
{"seq":4,"ts_nsec":99999999999999999,"level":null,"facility":null,"caller":null,"text":"<TASK>","subsystem":"","device":""}
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

// A 3.5-5.9 wrap marker is a line in vmcore-dmesg's output and nowhere else.
func TestFormatWrapMarker(t *testing.T) {
	recs := []Record{{TsNsec: 1e9, Text: "a"}, {WrapMarker: true, Level: Unknown, Facility: Unknown}, {TsNsec: 2e9, Text: "b"}}
	if got, want := format(t, &Formatter{}, recs), "[    1.000000] a\n[    0.000000] \n[    2.000000] b\n"; got != want {
		t.Errorf("dmesg %q, want %q", got, want)
	}
	if got, want := format(t, &Formatter{Style: StyleCrash}, recs), "[    1.000000] a\n[    2.000000] b\n"; got != want {
		t.Errorf("crash %q, want %q", got, want)
	}
	if got := format(t, &Formatter{Style: StyleJSON}, recs); strings.Count(got, "\n") != 2 {
		t.Errorf("json %q", got)
	}
}
