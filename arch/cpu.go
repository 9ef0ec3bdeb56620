package arch

// CPU is the registers, unwinding and stacks part of an Arch.
type CPU interface {
}
