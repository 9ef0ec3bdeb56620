package triage_test

import (
	"context"
	"fmt"
	"log"

	"github.com/vmcoretools/vmcore/triage"
)

// Triage a dump without its vmlinux: the kind of failure and its
// fingerprint come from the kernel's log, the panic task and its trace
// from the dump's own BTF and kallsyms.
func ExampleOpen() {
	r, err := triage.Open(context.Background(), []string{"../testdata/demo/vmcore-6.1-kdump-zstd-d31"}, triage.Options{NoVmlinux: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Failure.Kind, r.Failure.Message)
	fmt.Println(r.Fingerprint.Signature)
	fmt.Println(r.Panic.Task.Comm, r.Panic.Backtrace.Frames[0].Function)
	// Output:
	// sysrq sysrq triggered crash
	// sysrq: sysrq_handle_crash < __handle_sysrq < write_sysrq_trigger < proc_reg_write < vfs_write
	// lab-panic machine_kexec
}
