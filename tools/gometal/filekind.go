package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"
	"unicode/utf8"
)

// describeFile says what b, a file that is not a bootable gometal image,
// looks like, as a noun phrase for an error message: "a dynamically linked
// Linux executable (interpreter /lib64/ld-linux-x86-64.so.2)", "a gzip
// archive", "a shell script (#!/bin/sh)".
func describeFile(b []byte) string {
	if len(b) == 0 {
		return "an empty file"
	}
	if bytes.HasPrefix(b, []byte(elf.ELFMAG)) {
		return describeELF(b)
	}
	for _, m := range []struct {
		off   int
		magic string
		what  string
	}{
		{0, "\x1f\x8b", "a gzip-compressed file"},
		{0, "070701", "a cpio archive (newc): pass it as --initrd, it is not the image"},
		{0, "070702", "a cpio archive (newc with checksums)"},
		{0, "070707", "a cpio archive (odc)"},
		{0, "\xfd7zXZ\x00", "an xz-compressed file"},
		{0, "\x28\xb5\x2f\xfd", "a zstd-compressed file"},
		{0, "BZh", "a bzip2-compressed file"},
		{0, "\x04\x22\x4d\x18", "an lz4-compressed file"},
		{0, "PK\x03\x04", "a zip archive"},
		{0, "MZ", "a PE/COFF (Windows or EFI) executable"},
		{0, "\xcf\xfa\xed\xfe", "a Mach-O executable"},
		{0, "\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class file"},
		{0, "\x00asm", "a WebAssembly module"},
		{0, "!<arch>\n", "an ar archive (a Go or C library)"},
		{257, "ustar", "a tar archive"},
		{0x202, "HdrS", "a Linux kernel (bzImage)"},
		{0x8001, "CD001", "an ISO 9660 image (gometal iso makes these from an image; boot it with QEMU's -cdrom)"},
	} {
		if len(b) >= m.off+len(m.magic) && string(b[m.off:m.off+len(m.magic)]) == m.magic {
			return m.what
		}
	}
	if bytes.HasPrefix(b, []byte("#!")) {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		line = bytes.TrimSpace(line)
		kind := "a script"
		if bytes.Contains(line, []byte("sh")) && !bytes.Contains(line, []byte("python")) {
			kind = "a shell script"
		}
		if len(line) > 60 {
			line = append(line[:57:57], "..."...)
		}
		return fmt.Sprintf("%s (%s)", kind, line)
	}
	head := b[:min(len(b), 4096)]
	if utf8.Valid(head) && !bytes.ContainsRune(head, 0) {
		return "a text file"
	}
	return fmt.Sprintf("not an ELF file (it starts with % x)", b[:min(len(b), 8)])
}

// describeELF says what kind of ELF file b is.
func describeELF(b []byte) string {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Sprintf("a damaged ELF file (%v)", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		bits := "32"
		if f.Class == elf.ELFCLASS64 {
			bits = "64"
		}
		return fmt.Sprintf("a %s-bit ELF file for %s, not x86-64", bits, strings.TrimPrefix(f.Machine.String(), "EM_"))
	}
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			s := make([]byte, min(p.Filesz, 256))
			if n, _ := p.ReadAt(s, 0); n > 0 {
				interp = strings.TrimRight(string(s[:n]), "\x00")
			}
			break
		}
	}
	goProg := f.Section(".go.buildinfo") != nil || f.Section(".gopclntab") != nil
	switch {
	case interp != "":
		return fmt.Sprintf("a dynamically linked Linux executable (interpreter %s)", interp)
	case f.Type == elf.ET_DYN && f.Section(".interp") == nil && hasEntry(f):
		return "a static-pie executable"
	case f.Type == elf.ET_DYN:
		return "a shared library"
	case f.Type == elf.ET_REL:
		return "an ELF object file"
	case f.Type == elf.ET_CORE:
		return "a core dump"
	case goProg:
		return "a statically linked Go program"
	case f.Type == elf.ET_EXEC:
		return "a statically linked x86-64 executable, not a Go program"
	}
	return fmt.Sprintf("an ELF file of type %v", f.Type)
}

// hasEntry reports whether f has an entry point, as an executable does.
func hasEntry(f *elf.File) bool { return f.Entry != 0 }
