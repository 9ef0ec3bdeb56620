package vmcore

import "testing"

// TestMachineFromVMCOREINFO: QEMU 11 writes "Unknown" for the machine in
// its kdump headers; VMCOREINFO's architecture-only entries tell it.
func TestMachineFromVMCOREINFO(t *testing.T) {
	for raw, want := range map[string]string{
		"OSRELEASE=7.2.13\nSYMBOL(init_top_pgt)=ffffffffbe02a000\nNUMBER(phys_base)=0\n": "x86_64",
		"OSRELEASE=6.1.0\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=ffff800008000000\n": "aarch64",
		"OSRELEASE=6.1.0\nSYMBOL(init_uts_ns)=ffffffff82a12345\n":                        "",
		"SYMBOL(init_top_pgt)=ffffffffbe02a000\n":                                        "x86_64",
	} {
		if got := machineFromVMCOREINFO([]byte(raw)); got != want {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}
