package vmcoreinfo

import (
	"strings"
	"testing"
	"time"
)

const sample = "OSRELEASE=6.1.0-41-cloud-amd64\nBUILD-ID=ABCDEF0123\nPAGESIZE=4096\n" +
	"SYMBOL(init_uts_ns)=ffffffff82a13a60\nSIZE(printk_info)=88\nOFFSET(printk_info.caller_id)=20\n" +
	"LENGTH(printk_info_device)=48\nNUMBER(phys_base)=-2147483648\nNUMBER(sme_mask)=0\n" +
	"NUMBER(big)=18446744073709551615\nCONFIG_NUMA=y\nKERNELOFFSET=1a000000\nCRASHTIME=1764111600\n" +
	"garbage line\nSIZE(bad)=zz\n\x00\x00\x00"

func TestParse(t *testing.T) {
	info, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.OSRelease(); got != "6.1.0-41-cloud-amd64" {
		t.Errorf("OSRelease %q", got)
	}
	if got := info.BuildID(); got != "abcdef0123" {
		t.Errorf("BuildID %q", got)
	}
	if v, ok := info.PageSize(); !ok || v != 4096 {
		t.Errorf("PageSize %v %v", v, ok)
	}
	if v, ok := info.Symbol("init_uts_ns"); !ok || v != 0xffffffff82a13a60 {
		t.Errorf("Symbol %x %v", v, ok)
	}
	if v, ok := info.Size("printk_info"); !ok || v != 88 {
		t.Errorf("Size %v", v)
	}
	if v, ok := info.Offset("printk_info", "caller_id"); !ok || v != 20 {
		t.Errorf("Offset %v", v)
	}
	if v, ok := info.Length("printk_info_device"); !ok || v != 48 {
		t.Errorf("Length %v", v)
	}
	if v, ok := info.Number("phys_base"); !ok || v != -2147483648 {
		t.Errorf("Number %v", v)
	}
	if v, ok := info.Number("big"); !ok || uint64(v) != ^uint64(0) {
		t.Errorf("Number big %v %v", v, ok)
	}
	if v, ok := info.Config("NUMA"); !ok || v != "y" {
		t.Errorf("Config %q", v)
	}
	if v, ok := info.KernelOffset(); !ok || v != 0x1a000000 {
		t.Errorf("KernelOffset %x", v)
	}
	if v, ok := info.CrashTime(); !ok || !v.Equal(time.Unix(1764111600, 0)) {
		t.Errorf("CrashTime %v", v)
	}
	if _, ok := info.Size("bad"); ok {
		t.Error("malformed SIZE parsed")
	}
	if _, ok := info.Symbol("missing"); ok {
		t.Error("missing symbol found")
	}
	if len(info.Keys()) != 14 {
		t.Errorf("keys %v", info.Keys())
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "\x00\x00", "no equals here\n"} {
		if _, err := Parse([]byte(in)); err != ErrEmpty {
			t.Errorf("Parse(%q) err %v", in, err)
		}
	}
	if _, err := Parse(make([]byte, MaxSize+1)); err == nil {
		t.Error("oversized note accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("OSRELEASE=\n=\n==\nNUMBER(x)=0x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Parse(data)
		if err != nil {
			return
		}
		for _, k := range info.Keys() {
			if _, ok := info.Get(k); !ok {
				t.Fatalf("key %q listed but not found", k)
			}
		}
		info.PageSize()
		info.KernelOffset()
		info.CrashTime()
		info.Number("x")
	})
}

// TestInvalidValues: a key that is present with a value the kernel never
// writes is absent to the getters, and Invalid says which and why.
func TestInvalidValues(t *testing.T) {
	info, err := Parse([]byte("OSRELEASE=6.1.0\nPAGESIZE=4097\nSYMBOL(prb)=zz\nOFFSET(a.b)=-1\nSIZE(c)=12\nNUMBER(d)=x\nCRASHTIME=9223372036854775807\nKERNELOFFSET=1f000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.PageSize(); ok {
		t.Error("PAGESIZE=4097 accepted")
	}
	if _, ok := info.CrashTime(); ok {
		t.Error("CRASHTIME=2^63-1 accepted (the year 292277026596)")
	}
	if _, ok := info.Symbol("prb"); ok {
		t.Error("SYMBOL(prb)=zz accepted")
	}
	got := strings.Join(info.Invalid(), "\n")
	for _, want := range []string{"PAGESIZE=4097: not a page size", "SYMBOL(prb)=zz: not a hexadecimal", "OFFSET(a.b)=-1: not a decimal", "NUMBER(d)=x: not a number", "CRASHTIME=9223372036854775807: not a date"} {
		if !strings.Contains(got, want) {
			t.Errorf("Invalid lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "SIZE(c)") || strings.Contains(got, "KERNELOFFSET") || strings.Contains(got, "OSRELEASE") {
		t.Errorf("valid keys listed as invalid:\n%s", got)
	}
	if ts, ok := (&Info{values: map[string]string{"CRASHTIME": "1795647308"}}).CrashTime(); !ok || ts.Year() != 2026 {
		t.Errorf("a real CRASHTIME: %v %v", ts, ok)
	}
}
