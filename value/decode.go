package value

import "encoding/binary"

// UintAt decodes the size-byte unsigned integer at off in b, in the given
// byte order: a member of a structure read in one piece. Sizes 1, 2 and 4
// are read as such, larger ones as 8 bytes; a member outside b is 0. A
// nil order is little-endian, as in a Context.
func UintAt(b []byte, off, size int64, order binary.ByteOrder) uint64 {
	if off < 0 || size <= 0 || off+size > int64(len(b)) {
		return 0
	}
	if order == nil {
		order = binary.LittleEndian
	}
	switch size {
	case 1:
		return uint64(b[off])
	case 2:
		return uint64(order.Uint16(b[off:]))
	case 4:
		return uint64(order.Uint32(b[off:]))
	}
	if size < 8 {
		return 0
	}
	return order.Uint64(b[off:])
}
