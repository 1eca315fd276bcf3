// Package vga writes text to the VGA text-mode screen (80x25 characters at
// physical 0xB8000), the console of BIOS machines without a serial port.
// It keeps its own cursor, wraps and scrolls, and moves the hardware
// cursor. Context: trap or boot; does not allocate.
package vga

import "github.com/gometal/gometal/kernel/cpu"

// Geometry and registers.
const (
	Cols       = 80
	Rows       = 25
	TextBuffer = 0xb8000 // physical address of the character cells
	attr       = 0x07    // light grey on black
	crtcIndex  = 0x3d4
	crtcData   = 0x3d5
	crtcCurHi  = 0x0e
	crtcCurLo  = 0x0f
)

// Screen is a text-mode screen whose cells are at Base (a virtual address
// of TextBuffer).
type Screen struct {
	base     uintptr
	row, col int
}

// Init clears the screen. Base 0 leaves the screen off.
// Context: boot; does not allocate.
func (s *Screen) Init(base uintptr) {
	s.base = base
	if base == 0 {
		return
	}
	for i := 0; i < Cols*Rows; i++ {
		s.cell(i, ' ')
	}
	s.row, s.col = 0, 0
	s.cursor()
}

func (s *Screen) cell(i int, c byte) {
	*(*uint16)(cpu.Pointer(s.base + uintptr(2*i))) = attr<<8 | uint16(c)
}

func (s *Screen) read(i int) uint16 {
	return *(*uint16)(cpu.Pointer(s.base + uintptr(2*i)))
}

// WriteByte shows one byte: printable ASCII as is, '\n' and '\r' as moves,
// tabs as spaces to the next multiple of 8, anything else as '?'.
// Context: boot or trap (the kernel console); does not allocate.
func (s *Screen) WriteByte(c byte) error {
	if s.base == 0 {
		return nil
	}
	switch {
	case c == '\n':
		s.newline()
	case c == '\r':
		s.col = 0
	case c == '\t':
		for s.col%8 != 7 && s.col < Cols-1 {
			s.put(' ')
		}
		s.put(' ')
	case c >= 0x20 && c < 0x7f:
		s.put(c)
	default:
		s.put('?')
	}
	s.cursor()
	return nil
}

// Write shows b.
func (s *Screen) Write(b []byte) (int, error) {
	for _, c := range b {
		s.WriteByte(c)
	}
	return len(b), nil
}

// put shows c at the cursor, wrapping first at the end of a line.
// Context: boot or trap; does not allocate.
func (s *Screen) put(c byte) {
	if s.col == Cols {
		s.newline()
	}
	s.cell(s.row*Cols+s.col, c)
	s.col++
}

// newline moves to the start of the next line, scrolling at the bottom.
// Context: boot or trap; does not allocate.
func (s *Screen) newline() {
	s.col = 0
	if s.row < Rows-1 {
		s.row++
		return
	}
	for i := 0; i < (Rows-1)*Cols; i++ {
		*(*uint16)(cpu.Pointer(s.base + uintptr(2*i))) = s.read(i + Cols)
	}
	for i := (Rows - 1) * Cols; i < Rows*Cols; i++ {
		s.cell(i, ' ')
	}
}

// cursor moves the blinking hardware cursor to the write position.
// Context: boot or trap; does not allocate.
func (s *Screen) cursor() {
	pos := uint16(s.row*Cols + s.col)
	cpu.Outb(crtcIndex, crtcCurHi)
	cpu.Outb(crtcData, uint8(pos>>8))
	cpu.Outb(crtcIndex, crtcCurLo)
	cpu.Outb(crtcData, uint8(pos))
}
