package elfcore

import (
	"encoding/binary"
)

// Note is one ELF note. In a File, Desc shares the File's note buffer; from
// ParseNotes it shares the caller's data.
type Note struct {
	Name string // without the terminating NUL, e.g. "CORE", "VMCOREINFO", "QEMU"
	Type uint32 // e.g. uint32(elf.NT_PRSTATUS)
	Desc []byte
}

// MaxNoteDescSize bounds one note's desc. The largest notes in kernel dumps
// (NT_PRSTATUS, VMCOREINFO, QEMU's CPU state, xsave areas) are a few pages.
const MaxNoteDescSize = 16 << 20

// ParseNotes splits ELF note data (the contents of a PT_NOTE, or the note
// area of a kdump sub-header) into notes. Each note is a 12-byte header
// (n_namesz, n_descsz, n_type in the given byte order), the name and the
// desc, each padded to 4 bytes; this is the layout of Linux core notes in
// both ELF classes. An all-zero header ends the data: the kernel and kexec
// pad note buffers with zeros.
//
// On malformed data ParseNotes returns the notes before the damage and a
// *FormatError whose Off is the damaged note's offset in data.
func ParseNotes(data []byte, order binary.ByteOrder) ([]Note, error) {
	var notes []Note
	off := 0
	for off < len(data) {
		rest := data[off:]
		if len(rest) < 12 {
			if allZero(rest) {
				break
			}
			return notes, formatErr(int64(off), "note header truncated: %d of 12 bytes", len(rest))
		}
		namesz := uint64(order.Uint32(rest[0:]))
		descsz := uint64(order.Uint32(rest[4:]))
		typ := order.Uint32(rest[8:])
		if namesz == 0 && descsz == 0 && typ == 0 {
			break
		}
		if descsz > MaxNoteDescSize {
			return notes, formatErr(int64(off), "note claims a desc of %d bytes (limit %d)", descsz, MaxNoteDescSize)
		}
		nameEnd := 12 + namesz
		descStart := 12 + align4(namesz)
		descEnd := descStart + descsz
		if nameEnd > uint64(len(rest)) || descEnd > uint64(len(rest)) {
			return notes, formatErr(int64(off), "note (name size %d, desc size %d) runs past the end of the %d bytes of note data",
				namesz, descsz, len(data))
		}
		name := rest[12:nameEnd]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		notes = append(notes, Note{Name: string(name), Type: typ, Desc: rest[descStart:descEnd:descEnd]})
		// The last note's desc padding may be missing.
		next := align4(descEnd)
		if next > uint64(len(rest)) {
			break
		}
		off += int(next)
	}
	return notes, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
