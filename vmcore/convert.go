package vmcore

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"sort"

	"github.com/vmcoretools/vmcore/elfcore"
	"github.com/vmcoretools/vmcore/kdumpfmt"
	"github.com/vmcoretools/vmcore/physmem"
)

// KdumpSource describes the dump as a source for kdumpfmt.Write, so that any
// dump this package reads can be written in makedumpfile's compressed
// format, keeping its headers, notes, VMCOREINFO and dump level. Pages
// excluded from the input stay excluded; pages lost in the input stay lost.
func (d *Dump) KdumpSource() (*kdumpfmt.Source, error) {
	if d.kdump != nil {
		return kdumpfmt.FromFile(d.kdump), nil
	}
	f := d.elf
	if f == nil {
		return nil, errors.New("vmcore: no dump open")
	}
	ps := uint64(d.PageSize())
	// Frames covered by a segment, as sorted disjoint pfn ranges.
	type pfnRange struct{ start, end uint64 }
	var ranges []pfnRange
	for _, s := range f.Segments {
		if s.MemSize == 0 {
			continue
		}
		start, end := s.PAddr/ps, (s.PAddr+s.MemSize+ps-1)/ps
		if n := len(ranges); n > 0 && start <= ranges[n-1].end {
			ranges[n-1].end = max(ranges[n-1].end, end)
			continue
		}
		ranges = append(ranges, pfnRange{start, end})
	}
	if len(ranges) == 0 {
		return nil, errors.New("vmcore: the ELF dump has no memory segments")
	}
	inRAM := func(pfn uint64) bool {
		i := sort.Search(len(ranges), func(i int) bool { return ranges[i].end > pfn })
		return i < len(ranges) && ranges[i].start <= pfn
	}
	order := f.ByteOrder
	src := &kdumpfmt.Source{
		NrCPUs:    int32(len(d.cpus)),
		MaxPFN:    ranges[len(ranges)-1].end,
		PageSize:  int(ps),
		ByteOrder: order,
		InRAM:     inRAM,
		Dumpable:  inRAM,
		ReadPage: func(pfn uint64, dst []byte) error {
			n, err := f.ReadAt(dst, int64(pfn*ps))
			var pe *physmem.Error
			if errors.As(err, &pe) && pe.Kind == physmem.NotInDump {
				// A frame only partly covered by a segment: the rest
				// of the page is not memory; keep it as zeros.
				clear(dst[n:])
				return nil
			}
			return err
		},
		Notes: encodeNotes(f.Notes, order),
	}
	if f.Class == elf.ELFCLASS32 {
		src.Layout = kdumpfmt.Layout32Packed
	}
	if d.info != nil {
		src.VMCOREINFO = d.info.Raw()
		if v, ok := d.info.Number("phys_base"); ok {
			src.PhysBase = uint64(v)
		}
	}
	src.Utsname.Sysname = "Linux"
	src.Utsname.Release = d.Release()
	src.Utsname.Machine = d.Arch()
	if t, ok := d.CrashTime(); ok {
		src.TimestampSec = t.Unix()
	}
	return src, nil
}

// encodeNotes writes notes back into ELF note format (4-byte aligned).
func encodeNotes(notes []elfcore.Note, order binary.ByteOrder) []byte {
	var out []byte
	pad := func() {
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	for _, n := range notes {
		var hdr [12]byte
		order.PutUint32(hdr[0:], uint32(len(n.Name)+1))
		order.PutUint32(hdr[4:], uint32(len(n.Desc)))
		order.PutUint32(hdr[8:], n.Type)
		out = append(out, hdr[:]...)
		out = append(out, n.Name...)
		out = append(out, 0)
		pad()
		out = append(out, n.Desc...)
		pad()
	}
	return out
}

// WriteKdump writes the dump in makedumpfile's compressed format.
func (d *Dump) WriteKdump(w io.WriterAt, opt kdumpfmt.WriteOptions) error {
	src, err := d.KdumpSource()
	if err != nil {
		return err
	}
	return kdumpfmt.Write(w, src, opt)
}
