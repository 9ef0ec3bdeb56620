package elfcore

import (
	"errors"
	"fmt"
)

// ErrNotELF is returned by NewFile for input that does not start with the
// ELF magic number, so that a caller probing formats can try the next one.
var ErrNotELF = errors.New("elfcore: not an ELF file")

// ErrNotCore is returned by NewFile for a valid ELF file whose e_type is not
// ET_CORE (an executable or a shared object given by mistake).
var ErrNotCore = errors.New("elfcore: ELF file is not a core dump (e_type != ET_CORE)")

// FormatError reports a malformed file: what is wrong and the file offset
// (or, from ParseNotes, the offset in the note data) where it was found.
type FormatError struct {
	Off int64
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("elfcore: %s (at offset %#x)", e.Msg, e.Off)
}

func formatErr(off int64, format string, args ...any) *FormatError {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, args...)}
}
