package elfcore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseNotes(t *testing.T) {
	notes := []Note{
		{Name: "CORE", Type: 1, Desc: []byte{1, 2, 3, 4, 5}},
		{Name: "VMCOREINFO", Type: 0, Desc: []byte("OSRELEASE=6.1\n")},
		{Name: "", Type: 7, Desc: []byte{9}}, // namesz 0
		{Name: "QEMU", Type: 0, Desc: nil},
		{Name: "LINUX", Type: 0x202, Desc: bytes.Repeat([]byte{0xaa}, 32)},
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		data := encodeNotes(notes, order)
		cases := map[string][]byte{
			"exact":             data,
			"zero padding":      append(bytes.Clone(data), make([]byte, 100)...),
			"short zero tail":   append(bytes.Clone(data), make([]byte, 5)...),
			"last pad missing":  encodeNotes(notes[:1], order)[:12+8+5],
			"empty":             nil,
			"only zero padding": make([]byte, 64),
		}
		want := map[string][]Note{
			"exact": notes, "zero padding": notes, "short zero tail": notes,
			"last pad missing": notes[:1], "empty": nil, "only zero padding": nil,
		}
		for name, d := range cases {
			got, err := ParseNotes(d, order)
			if err != nil {
				t.Errorf("%v %s: %v", order, name, err)
				continue
			}
			if diff := cmp.Diff(want[name], got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
				t.Errorf("%v %s (-want +got):\n%s", order, name, diff)
			}
		}
	}
}

func TestParseNotesErrors(t *testing.T) {
	le := binary.LittleEndian
	first := encodeNotes([]Note{{Name: "CORE", Type: 1, Desc: make([]byte, 8)}}, le) // 28 bytes
	hdr := func(namesz, descsz, typ uint32) []byte {
		b := make([]byte, 12)
		le.PutUint32(b[0:], namesz)
		le.PutUint32(b[4:], descsz)
		le.PutUint32(b[8:], typ)
		return b
	}
	for name, c := range map[string]struct {
		tail []byte
		msg  string
	}{
		"garbage tail":    {[]byte{1, 2, 3}, "note header truncated: 3 of 12 bytes"},
		"4 GiB desc":      {hdr(5, 0xffffffff, 1), "desc of 4294967295 bytes"},
		"desc past end":   {append(hdr(5, 100, 1), "CORE\x00\x00\x00\x00"...), "runs past the end"},
		"name past end":   {append(hdr(0xfffffff0, 0, 1), "CORE"...), "runs past the end"},
		"name just short": {append(hdr(9, 0, 1), "VMCORE"...), "runs past the end"},
	} {
		data := append(bytes.Clone(first), c.tail...)
		got, err := ParseNotes(data, le)
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Off != int64(len(first)) || !bytes.Contains([]byte(err.Error()), []byte(c.msg)) {
			t.Errorf("%s: err = %v, want a *FormatError at %d containing %q", name, err, len(first), c.msg)
		}
		if len(got) != 1 || got[0].Name != "CORE" {
			t.Errorf("%s: notes before the damage = %+v", name, got)
		}
	}
}

func TestNotesInFileAliasBuffer(t *testing.T) {
	// Desc must be limited to its own bytes: appending to it must not
	// overwrite the next note.
	f := mustOpen(t, coreSpec{noteSegs: [][]Note{{
		{Name: "A", Desc: []byte{1, 2, 3, 4}},
		{Name: "B", Desc: []byte{5, 6, 7, 8}},
	}}}.bytes())
	_ = append(f.Notes[0].Desc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if !bytes.Equal(f.Notes[1].Desc, []byte{5, 6, 7, 8}) || f.Notes[1].Name != "B" {
		t.Errorf("second note changed: %+v", f.Notes[1])
	}
}
