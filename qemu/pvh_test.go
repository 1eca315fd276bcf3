package qemu_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// These helpers build a tiny PVH ELF (32-bit code, no kernel) so the
// harness can be tested against the real QEMU before the kernel boots.

// pvhEnding is what the tiny guest does after printing its message.
type pvhEnding int

const (
	endExit  pvhEnding = iota // write the value to the debug-exit port
	endHang                   // spin forever
	endFault                  // load an empty IDT and execute ud2: triple fault
)

const pvhBase = 0x100000 // where QEMU loads the image (p_paddr)

// tinyPVH returns an ELF32 image that writes msg to COM1 and then ends.
func tinyPVH(msg string, end pvhEnding, value uint32) []byte {
	const (
		ehdrSize = 52
		phdrSize = 32
		noteOff  = ehdrSize + 2*phdrSize
		noteSize = 12 + 4 + 4 // header, "Xen\0", 32-bit entry
		codeOff  = noteOff + noteSize
	)
	entry := uint32(pvhBase + codeOff)

	// The print loop is 19 bytes; the ending follows; then data.
	var tail []byte
	switch end {
	case endExit:
		tail = []byte{0x66, 0xba, 0xf4, 0x00, 0xb8} // mov dx, 0xf4; mov eax, imm32
		tail = binary.LittleEndian.AppendUint32(tail, value)
		tail = append(tail, 0xef, 0xf4, 0xeb, 0xfd) // out dx, eax; 1: hlt; jmp 1b
	case endHang:
		tail = []byte{0xeb, 0xfe} // jmp .
	case endFault:
		tail = []byte{0x0f, 0x01, 0x1d, 0, 0, 0, 0, 0x0f, 0x0b} // lidt [idtr]; ud2
	}
	const loopSize = 19
	dataAddr := entry + loopSize + uint32(len(tail))
	idtr := dataAddr // 6 zero bytes: limit 0, base 0
	msgAddr := dataAddr + 8
	if end == endFault {
		binary.LittleEndian.PutUint32(tail[3:], idtr)
	}
	code := []byte{0xbe} // mov esi, msg
	code = binary.LittleEndian.AppendUint32(code, msgAddr)
	code = append(code,
		0x8a, 0x06, // 1: mov al, [esi]
		0x84, 0xc0, // test al, al
		0x74, 0x08, // jz 2f
		0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
		0xee,       // out dx, al
		0x46,       // inc esi
		0xeb, 0xf2, // jmp 1b
	) // 2:
	code = append(code, tail...)
	code = append(code, make([]byte, 8)...)
	code = append(code, msg...)
	code = append(code, 0)
	size := uint32(codeOff + len(code))

	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := elf.Header32{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_386), Version: uint32(elf.EV_CURRENT),
		Entry: entry, Phoff: ehdrSize, Ehsize: ehdrSize, Phentsize: phdrSize, Phnum: 2,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.Write(&b, le, hdr)
	binary.Write(&b, le, elf.Prog32{
		Type: uint32(elf.PT_LOAD), Vaddr: pvhBase, Paddr: pvhBase, Filesz: size, Memsz: size,
		Flags: uint32(elf.PF_R | elf.PF_X), Align: 0x1000,
	})
	binary.Write(&b, le, elf.Prog32{
		Type: uint32(elf.PT_NOTE), Off: noteOff, Vaddr: pvhBase + noteOff, Paddr: pvhBase + noteOff,
		Filesz: noteSize, Memsz: noteSize, Flags: uint32(elf.PF_R), Align: 4,
	})
	binary.Write(&b, le, []uint32{4, 4, 18}) // namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY
	b.WriteString("Xen\x00")
	binary.Write(&b, le, entry)
	b.Write(code)
	return b.Bytes()
}

// writeTinyPVH writes tinyPVH's image to a temporary file.
func writeTinyPVH(t *testing.T, msg string, end pvhEnding, value uint32) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.elf")
	require.NoError(t, os.WriteFile(path, tinyPVH(msg, end, value), 0o644))
	return path
}
