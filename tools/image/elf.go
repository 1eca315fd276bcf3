package image

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ELF constants used by the patcher (see the System V gABI).
const (
	elfHeaderSize = 64 // sizeof(Elf64_Ehdr)
	progSize      = 56 // sizeof(Elf64_Phdr)
	sectSize      = 64 // sizeof(Elf64_Shdr)

	etExec    = 2  // e_type: executable file
	emX86_64  = 62 // e_machine: AMD x86-64
	ptLoad    = 1  // p_type: loadable segment
	ptNote    = 4  // p_type: auxiliary information
	shtNote   = 7  // sh_type: notes
	shtNobits = 8  // sh_type: occupies no file space
)

var le = binary.LittleEndian

// elfFile is the part of an ELF64 little-endian executable that the patcher
// reads and rewrites. Every offset has been checked against the file size.
type elfFile struct {
	data  []byte
	entry uint64
	phoff uint64 // file offset of the program header table
	shoff uint64 // file offset of the section header table (0 if none)
	progs []prog
	sects []sect
	// reserved are file ranges the patcher has claimed, kept free of
	// the multiboot header even where they now hold zeros.
	reserved [][2]uint64
}

// prog is one program header and where it sits in the file.
type prog struct {
	at                   int // file offset of this Elf64_Phdr
	typ, flags           uint32
	off, vaddr, paddr    uint64
	filesz, memsz, align uint64
}

// sect is one section header and where it sits in the file.
type sect struct {
	at              int // file offset of this Elf64_Shdr
	typ             uint32
	addr, off, size uint64
}

// end returns the file offset just past the segment's file bytes.
func (p prog) end() uint64 { return p.off + p.filesz }

// setFileSize rewrites p_filesz and p_memsz of the program header in data.
func (p *prog) setFileSize(data []byte, n uint64) {
	p.filesz, p.memsz = n, n
	le.PutUint64(data[p.at+32:], n)
	le.PutUint64(data[p.at+40:], n)
}

// errNotELF reports input that is not an ELF64 x86-64 executable.
var errNotELF = errors.New("not an ELF64 little-endian x86-64 executable")

// parseELF reads the ELF header, program headers and section headers of
// data, checking that each lies inside the file. It does not copy data.
func parseELF(data []byte) (*elfFile, error) {
	if len(data) < elfHeaderSize || !bytes.Equal(data[:4], []byte("\x7fELF")) {
		return nil, errNotELF
	}
	if data[4] != 2 || data[5] != 1 { // ELFCLASS64, ELFDATA2LSB
		return nil, errNotELF
	}
	if le.Uint16(data[16:]) != etExec || le.Uint16(data[18:]) != emX86_64 {
		return nil, errNotELF
	}
	f := &elfFile{
		data:  data,
		entry: le.Uint64(data[24:]),
		phoff: le.Uint64(data[32:]),
		shoff: le.Uint64(data[40:]),
	}
	phentsize, phnum := le.Uint16(data[54:]), le.Uint16(data[56:])
	shentsize, shnum := le.Uint16(data[58:]), le.Uint16(data[60:])
	if phnum == 0 {
		return nil, errors.New("ELF has no program headers")
	}
	if phentsize != progSize {
		return nil, fmt.Errorf("ELF program header size is %d, want %d", phentsize, progSize)
	}
	if !inFile(data, f.phoff, uint64(phnum)*progSize) {
		return nil, fmt.Errorf("ELF program headers at %#x (%d entries) lie outside the file", f.phoff, phnum)
	}
	for i := range int(phnum) {
		at := int(f.phoff) + i*progSize
		h := data[at : at+progSize]
		f.progs = append(f.progs, prog{
			at:     at,
			typ:    le.Uint32(h[0:]),
			flags:  le.Uint32(h[4:]),
			off:    le.Uint64(h[8:]),
			vaddr:  le.Uint64(h[16:]),
			paddr:  le.Uint64(h[24:]),
			filesz: le.Uint64(h[32:]),
			memsz:  le.Uint64(h[40:]),
			align:  le.Uint64(h[48:]),
		})
	}
	if f.shoff != 0 && shnum != 0 {
		if shentsize != sectSize {
			return nil, fmt.Errorf("ELF section header size is %d, want %d", shentsize, sectSize)
		}
		if !inFile(data, f.shoff, uint64(shnum)*sectSize) {
			return nil, fmt.Errorf("ELF section headers at %#x (%d entries) lie outside the file", f.shoff, shnum)
		}
		for i := range int(shnum) {
			at := int(f.shoff) + i*sectSize
			h := data[at : at+sectSize]
			f.sects = append(f.sects, sect{
				at:   at,
				typ:  le.Uint32(h[4:]),
				addr: le.Uint64(h[16:]),
				off:  le.Uint64(h[24:]),
				size: le.Uint64(h[32:]),
			})
		}
	}
	return f, nil
}

// inFile reports whether [off, off+n) lies inside data, without overflow.
func inFile(data []byte, off, n uint64) bool {
	size := uint64(len(data))
	return off <= size && n <= size-off
}

// loads returns the PT_LOAD program headers in file order.
func (f *elfFile) loads() []prog {
	var out []prog
	for _, p := range f.progs {
		if p.typ == ptLoad {
			out = append(out, p)
		}
	}
	return out
}
