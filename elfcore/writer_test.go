package elfcore

import (
	"debug/elf"
	"encoding/binary"
)

// The test writer: builds ELF core files in memory so that tests control
// every header field, including broken ones.

type loadSpec struct {
	paddr, vaddr uint64
	data         []byte // p_filesz = len(data)
	memsz        uint64 // 0 means len(data)
}

type coreSpec struct {
	class    elf.Class // default ELFCLASS64
	order    binary.ByteOrder
	machine  elf.Machine
	etype    elf.Type // default ET_CORE
	flags    uint32
	loads    []loadSpec
	noteSegs [][]Note
	xnum     bool // write e_phnum = PN_XNUM even for few headers
	phpad    int  // extra bytes after each program header (e_phentsize grows)
}

func encodeNotes(notes []Note, order binary.ByteOrder) []byte {
	var b []byte
	for _, n := range notes {
		var hdr [12]byte
		namesz := 0
		if n.Name != "" {
			namesz = len(n.Name) + 1
		}
		order.PutUint32(hdr[0:], uint32(namesz))
		order.PutUint32(hdr[4:], uint32(len(n.Desc)))
		order.PutUint32(hdr[8:], n.Type)
		b = append(b, hdr[:]...)
		if namesz > 0 {
			b = append(b, n.Name...)
			b = append(b, 0)
		}
		b = pad4(b)
		b = append(b, n.Desc...)
		b = pad4(b)
	}
	return b
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (c coreSpec) bytes() []byte {
	if c.class == 0 {
		c.class = elf.ELFCLASS64
	}
	if c.order == nil {
		c.order = binary.LittleEndian
	}
	if c.etype == 0 {
		c.etype = elf.ET_CORE
	}
	o := c.order
	is64 := c.class == elf.ELFCLASS64
	ehsize, phsize, shsize := 52, 32, 40
	if is64 {
		ehsize, phsize, shsize = 64, 56, 64
	}
	phsize += c.phpad
	nph := len(c.noteSegs) + len(c.loads)
	xnum := c.xnum || nph >= 0xffff
	shoff := 0
	phoff := ehsize
	if xnum {
		shoff = ehsize
		phoff = ehsize + shsize
	}
	dataOff := phoff + nph*phsize
	out := make([]byte, dataOff)

	copy(out, elf.ELFMAG)
	out[elf.EI_CLASS] = byte(c.class)
	if o == binary.ByteOrder(binary.BigEndian) {
		out[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	} else {
		out[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	}
	out[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	o.PutUint16(out[16:], uint16(c.etype))
	o.PutUint16(out[18:], uint16(c.machine))
	o.PutUint32(out[20:], 1)
	phnum := nph
	if xnum {
		phnum = 0xffff
	}
	shnum := 0
	if xnum {
		shnum = 1
	}
	if is64 {
		o.PutUint64(out[32:], uint64(phoff))
		o.PutUint64(out[40:], uint64(shoff))
		o.PutUint32(out[48:], c.flags)
		o.PutUint16(out[52:], uint16(ehsize))
		o.PutUint16(out[54:], uint16(phsize))
		o.PutUint16(out[56:], uint16(phnum))
		o.PutUint16(out[58:], uint16(shsize))
		o.PutUint16(out[60:], uint16(shnum))
	} else {
		o.PutUint32(out[28:], uint32(phoff))
		o.PutUint32(out[32:], uint32(shoff))
		o.PutUint32(out[36:], c.flags)
		o.PutUint16(out[40:], uint16(ehsize))
		o.PutUint16(out[42:], uint16(phsize))
		o.PutUint16(out[44:], uint16(phnum))
		o.PutUint16(out[46:], uint16(shsize))
		o.PutUint16(out[48:], uint16(shnum))
	}
	if xnum { // section header 0: sh_info = real phnum
		if is64 {
			o.PutUint32(out[shoff+44:], uint32(nph))
		} else {
			o.PutUint32(out[shoff+28:], uint32(nph))
		}
	}
	ph := func(i int, typ elf.ProgType, off, vaddr, paddr, filesz, memsz uint64) {
		p := out[phoff+i*phsize:]
		o.PutUint32(p[0:], uint32(typ))
		if is64 {
			o.PutUint64(p[8:], off)
			o.PutUint64(p[16:], vaddr)
			o.PutUint64(p[24:], paddr)
			o.PutUint64(p[32:], filesz)
			o.PutUint64(p[40:], memsz)
		} else {
			o.PutUint32(p[4:], uint32(off))
			o.PutUint32(p[8:], uint32(vaddr))
			o.PutUint32(p[12:], uint32(paddr))
			o.PutUint32(p[16:], uint32(filesz))
			o.PutUint32(p[20:], uint32(memsz))
		}
	}
	i := 0
	for _, notes := range c.noteSegs {
		b := encodeNotes(notes, o)
		ph(i, elf.PT_NOTE, uint64(len(out)), 0, 0, uint64(len(b)), 0)
		out = append(out, b...)
		i++
	}
	for _, l := range c.loads {
		memsz := l.memsz
		if memsz == 0 {
			memsz = uint64(len(l.data))
		}
		ph(i, elf.PT_LOAD, uint64(len(out)), l.vaddr, l.paddr, uint64(len(l.data)), memsz)
		out = append(out, l.data...)
		i++
	}
	return out
}

// prstatusDesc builds an NT_PRSTATUS desc for the given layout.
func prstatusDesc(order binary.ByteOrder, word, size int, pid, ppid int32, cursig int16, regs []uint64) []byte {
	d := make([]byte, size)
	pidOff, regOff := prPid64, prReg64
	if word == 4 {
		pidOff, regOff = prPid32, prReg32
	}
	order.PutUint16(d[prCursigOff:], uint16(cursig))
	order.PutUint32(d[pidOff:], uint32(pid))
	order.PutUint32(d[pidOff+4:], uint32(ppid))
	for i, r := range regs {
		if word == 8 {
			order.PutUint64(d[regOff+8*i:], r)
		} else {
			order.PutUint32(d[regOff+4*i:], uint32(r))
		}
	}
	return d
}
