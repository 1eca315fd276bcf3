package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/gometal/gometal/tools/symbolize"
)

// Debug information: the linked ELF carries DWARF (.debug_*, compressed)
// and the ELF symbol table (.symtab, .strtab), about a third of hello's
// file, none of which the boot loads. splitDebug keeps the whole ELF
// beside the image as IMAGE.debug (symbolize.DebugSuffix) and strips those
// sections from the image; the symbolizer, trapcheck and the runtime
// offsets read the debug file (symbolize.DebugFile). The image keeps its
// .gopclntab (loaded: the runtime's own tracebacks need it), so a kernel
// panic report can be symbolized from the image alone too.

// splitDebug writes the image at path, whole, to path+DebugSuffix and
// rewrites the image without its unloaded sections (stripUnloaded).
func splitDebug(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	stripped, err := stripUnloaded(data)
	if err != nil {
		return fmt.Errorf("strip %s: %w", path, err)
	}
	if err := os.WriteFile(path+symbolize.DebugSuffix, data, 0o644); err != nil {
		return err
	}
	return os.WriteFile(path, stripped, 0o755)
}

// removeStaleOutput removes what an earlier build left at path: the
// image, which the go command would otherwise keep as up to date (its
// build ID still matches) although that build already patched and
// stripped it, and the debug file beside it, which would otherwise stand
// for the new image until it is split.
func removeStaleOutput(path string) error {
	for _, p := range []string{path, path + symbolize.DebugSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// ELF64 header and section header layout (little endian).
const (
	ehSize      = 64
	ehShoff     = 0x28
	ehShentsize = 0x3a
	ehShnum     = 0x3c
	ehShstrndx  = 0x3e
	shSize      = 64
	shOffType   = 4
	shOffFlags  = 8
	shOffOffset = 24
	shOffSize   = 32
	shOffLink   = 40
	shOffInfo   = 44
)

// stripUnloaded returns an ELF64 image without the sections that are not
// SHF_ALLOC (DWARF, symbol and string tables), the section-name table
// excepted: the file ends with the last byte a segment or kept section
// holds (not at the page boundary where the linker began the debug
// sections), followed by the section-name table and the new section
// header table. Program headers and every loaded byte stay as they were
// (the ELF header's section fields excepted). It refuses a file where a
// kept section or segment lies past the first removed section.
func stripUnloaded(data []byte) ([]byte, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if f.Class != elf.ELFCLASS64 || f.ByteOrder != binary.LittleEndian {
		return nil, errors.New("not a little-endian ELF64 file")
	}
	le := binary.LittleEndian
	shoff := le.Uint64(data[ehShoff:])
	shnum := int(le.Uint16(data[ehShnum:]))
	shstrndx := int(le.Uint16(data[ehShstrndx:]))
	if le.Uint16(data[ehShentsize:]) != shSize || shstrndx >= shnum || shoff+uint64(shnum)*shSize > uint64(len(data)) {
		return nil, errors.New("unexpected section header table")
	}
	hdr := func(i int) []byte { return data[shoff+uint64(i)*shSize:][:shSize] }
	keep := make([]int, 0, shnum)
	cut := uint64(len(data))
	for i := 0; i < shnum; i++ {
		h := hdr(i)
		drop := i != 0 && i != shstrndx && le.Uint64(h[shOffFlags:])&uint64(elf.SHF_ALLOC) == 0
		if drop {
			cut = min(cut, le.Uint64(h[shOffOffset:]))
			continue
		}
		keep = append(keep, i)
	}
	if len(keep) == shnum {
		return data, nil // nothing to strip
	}
	names := hdr(shstrndx)
	namesOff, namesSize := le.Uint64(names[shOffOffset:]), le.Uint64(names[shOffSize:])
	cut = min(cut, namesOff)
	end := uint64(ehSize) // the last byte anything kept needs
	for _, i := range keep {
		h := hdr(i)
		if i == shstrndx || i == 0 || elf.SectionType(le.Uint32(h[shOffType:])) == elf.SHT_NOBITS {
			continue
		}
		e := le.Uint64(h[shOffOffset:]) + le.Uint64(h[shOffSize:])
		if e > cut {
			return nil, fmt.Errorf("section %d lies past the debug information", i)
		}
		end = max(end, e)
	}
	for _, p := range f.Progs {
		if p.Off+p.Filesz > cut {
			return nil, errors.New("a segment lies past the debug information")
		}
		end = max(end, p.Off+p.Filesz)
	}
	// The file ends with the last loaded byte, not at the page boundary
	// where the linker started the debug sections: the padding in
	// between is loaded by nothing.
	out := append([]byte(nil), data[:end]...)
	newNamesOff := uint64(len(out))
	out = append(out, data[namesOff:namesOff+namesSize]...)
	index := make(map[int]int, len(keep)) // old section index -> new
	for n, i := range keep {
		index[i] = n
	}
	table := make([]byte, 0, len(keep)*shSize)
	for _, i := range keep {
		h := append([]byte(nil), hdr(i)...)
		if i == shstrndx {
			le.PutUint64(h[shOffOffset:], newNamesOff)
		}
		link := int(le.Uint32(h[shOffLink:]))
		le.PutUint32(h[shOffLink:], uint32(index[link])) // a removed section's link becomes 0
		if elf.SectionType(le.Uint32(h[shOffType:])) == elf.SHT_REL || elf.SectionType(le.Uint32(h[shOffType:])) == elf.SHT_RELA {
			le.PutUint32(h[shOffInfo:], uint32(index[int(le.Uint32(h[shOffInfo:]))]))
		}
		table = append(table, h...)
	}
	// The new table goes at the end: the old one may lie in a loaded
	// segment (the Go linker puts it in the header page), whose bytes stay
	// as they were, the same as in the debug file.
	newShoff := (uint64(len(out)) + 7) &^ 7
	out = append(out, make([]byte, newShoff-uint64(len(out)))...)
	out = append(out, table...)
	le.PutUint64(out[ehShoff:], newShoff)
	le.PutUint16(out[ehShnum:], uint16(len(keep)))
	le.PutUint16(out[ehShstrndx:], uint16(index[shstrndx]))
	return out, nil
}
