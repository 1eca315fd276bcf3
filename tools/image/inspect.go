package image

import (
	"fmt"
	"io"
	"strings"
)

// Info describes the boot-relevant parts of an image.
type Info struct {
	Entry     uint64           // e_entry, the 32-bit boot stub
	PVH       *PVHNote         // the Xen PVH note, nil if absent
	BuildID   *Note            // the unpatched NT_GNU_BUILD_ID note, nil if absent
	Multiboot *MultibootHeader // the first valid multiboot header, nil if absent
	Loads     []Segment        // the PT_LOAD segments in file order
	Notes     []Segment        // the PT_NOTE segments in file order
	// FlatError is why the image violates the flat-load invariant, or "".
	FlatError string
}

// PVHNote is the Xen PHYS32_ENTRY note and the PT_NOTE segment holding it.
type PVHNote struct {
	Offset int64  // file offset of the note header
	Entry  uint64 // the descriptor: physical address of the 32-bit entry
}

// Note is an ELF note's location and type.
type Note struct {
	Offset int64 // file offset of the note header
	Size   int64 // header, name and descriptor, padded
	Type   uint32
}

// Segment is one program header.
type Segment struct {
	Offset, Vaddr, Paddr, Filesz, Memsz uint64
	Flags                               uint32
}

// Inspect reports the entry point, the PVH note, the multiboot header and
// the segments of the ELF image elf. It only reads elf.
func Inspect(elf []byte) (Info, error) {
	f, err := parseELF(elf)
	if err != nil {
		return Info{}, err
	}
	info := Info{Entry: f.entry}
	for _, p := range f.progs {
		s := Segment{p.off, p.vaddr, p.paddr, p.filesz, p.memsz, p.flags}
		switch p.typ {
		case ptLoad:
			info.Loads = append(info.Loads, s)
		case ptNote:
			info.Notes = append(info.Notes, s)
		}
	}
	if n, ok := findPVH(f); ok && len(n.desc) == 8 {
		info.PVH = &PVHNote{Offset: int64(n.off), Entry: le.Uint64(n.desc)}
	}
	if n, _, ok := findBuildID(f); ok {
		info.BuildID = &Note{Offset: int64(n.off), Size: int64(n.size), Type: n.typ}
	} else if s, ok := buildIDSection(f); ok {
		if n, ok := parseNote(f.data, s.off, s.off+s.size); ok {
			info.BuildID = &Note{Offset: int64(n.off), Size: int64(n.size), Type: n.typ}
		}
	}
	if h, ok, _ := findMultiboot(elf); ok {
		info.Multiboot = &h
	}
	if _, err := flatLayout(f); err != nil {
		info.FlatError = err.Error()
	}
	return info, nil
}

// BootsPVH reports whether the image boots through PVH: a flat layout and
// a PVH note that points at e_entry.
func (i Info) BootsPVH() bool {
	return i.FlatError == "" && i.PVH != nil && i.PVH.Entry == i.Entry
}

// BootsMultiboot reports whether the image boots through multiboot v1: a
// flat layout and a multiboot header whose entry is e_entry.
func (i Info) BootsMultiboot() bool {
	return i.FlatError == "" && i.Multiboot != nil && uint64(i.Multiboot.EntryAddr) == i.Entry
}

// Boot names the protocols the image boots through: BootBoth, BootPVH,
// BootMultiboot, or "" for none.
func (i Info) Boot() string {
	switch pvh, mb := i.BootsPVH(), i.BootsMultiboot(); {
	case pvh && mb:
		return BootBoth
	case pvh:
		return BootPVH
	case mb:
		return BootMultiboot
	}
	return ""
}

// Bootable reports whether the image boots through at least one protocol.
func (i Info) Bootable() bool { return i.Boot() != "" }

// WriteTo prints the information in a human-readable form.
func (i Info) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "entry:       %#x\n", i.Entry)
	if i.PVH != nil {
		fmt.Fprintf(&b, "pvh note:    offset %#x, entry %#x\n", i.PVH.Offset, i.PVH.Entry)
	} else {
		b.WriteString("pvh note:    none\n")
	}
	if i.BuildID != nil {
		state := "not yet patched"
		if i.BootsMultiboot() {
			state = "kept: multiboot-only image"
		}
		fmt.Fprintf(&b, "build-id:    offset %#x, %d bytes (%s)\n", i.BuildID.Offset, i.BuildID.Size, state)
	}
	if h := i.Multiboot; h != nil {
		fmt.Fprintf(&b, "multiboot:   offset %#x, flags %#x, checksum %#x\n", h.Offset, h.Flags, h.Checksum)
		fmt.Fprintf(&b, "             header_addr %#x load_addr %#x load_end_addr %#x bss_end_addr %#x entry_addr %#x\n",
			h.HeaderAddr, h.LoadAddr, h.LoadEndAddr, h.BSSEndAddr, h.EntryAddr)
	} else {
		b.WriteString("multiboot:   none\n")
	}
	for _, s := range i.Notes {
		fmt.Fprintf(&b, "PT_NOTE:     offset %#x paddr %#x filesz %#x\n", s.Offset, s.Paddr, s.Filesz)
	}
	for _, s := range i.Loads {
		fmt.Fprintf(&b, "PT_LOAD:     offset %#x paddr %#x vaddr %#x filesz %#x memsz %#x flags %s\n",
			s.Offset, s.Paddr, s.Vaddr, s.Filesz, s.Memsz, segFlags(s.Flags))
	}
	if i.FlatError != "" {
		fmt.Fprintf(&b, "layout:      NOT flat: %s\n", i.FlatError)
	} else {
		b.WriteString("layout:      flat (paddr = vaddr, one paddr - offset)\n")
	}
	if boot := i.Boot(); boot != "" {
		fmt.Fprintf(&b, "boot:        %s\n", boot)
	}
	fmt.Fprintf(&b, "bootable:    %v\n", i.Bootable())
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func segFlags(f uint32) string {
	s := []byte("---")
	if f&4 != 0 {
		s[0] = 'R'
	}
	if f&2 != 0 {
		s[1] = 'W'
	}
	if f&1 != 0 {
		s[2] = 'X'
	}
	return string(s)
}
