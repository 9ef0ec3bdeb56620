package arch

// Memory is the address-translation part of an Arch.
type Memory interface {
}
