// Package arch is the boundary between the kernel views and the machine
// architecture: kernel and user address translation and how a walk is
// shown, the registers a dump saves for each CPU (NT_PRSTATUS, QEMU's
// notes), stack unwinding and exception frames, and the bounds of the
// task, IRQ, NMI and exception stacks. Each architecture implements Arch
// in its own package (arch/amd64) and registers itself; the dump's machine
// chooses it through ForMachine. Import arch/all for every implementation.
package arch
