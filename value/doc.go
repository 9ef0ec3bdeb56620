// Package value reads typed kernel data out of a dump: a global or per-CPU
// variable by name, then its members, pointers, array elements and
// enclosing structures (container_of) by name, down to integers, C strings
// and byte arrays; and it prints a value the way crash's p and struct
// commands (that is, gdb with pretty printing) print it.
//
// Types come through a ktype.Source (a debuginfo vmlinux's DWARF, or the
// kernel's own BTF); memory is
// any io.ReaderAt over kernel virtual addresses (the offset is the
// address's bits, int64(vaddr)), such as arch/amd64's translator. This is
// the layer that ps, bt, struct and p stand on, so every read that fails
// says which address it tried, for which expression, and why.
package value
