// Package fbcon draws the console on a linear 24- or 32-bit framebuffer (the one
// GRUB hands over from the UEFI firmware's GOP), for machines without a
// serial port or VGA text mode: light grey 7x13 glyphs (font.go) on black,
// wrapping and scrolling like drivers/vga. Context: trap or boot; does not
// allocate.
package fbcon

//go:generate go run ../../tools/fontgen font.go

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

// CellWidth and CellHeight are a character cell's size in pixels.
const (
	CellWidth  = cellW
	CellHeight = glyphH
)

// Glyph returns the pixel rows of printable ASCII character ch (bit 7 is
// the leftmost pixel); anything else gets '?'.
func Glyph(ch byte) [CellHeight]uint8 {
	if ch < ' ' || ch > '~' {
		ch = '?'
	}
	return glyphs[ch-' ']
}

// Console is a text console on a framebuffer.
type Console struct {
	base          uintptr // virtual address of the top-left pixel; 0: off
	pitch         uintptr // bytes per pixel row
	width, height int     // pixels
	bpp           uintptr // bytes per pixel: 3 or 4
	cols, rows    int     // character cells
	row, col      int
	fg            uint32 // the text colour in the framebuffer's pixel format
}

// Geometry is a framebuffer's layout.
type Geometry struct {
	Pitch, Width, Height      uint32
	BitsPerPixel              uint8 // 24 or 32
	RedPos, GreenPos, BluePos uint8 // bit positions of the 8-bit channels
}

// Init clears the framebuffer at base (a virtual address; 0 leaves the
// console off) and starts writing at the top left.
// Context: boot; does not allocate.
func (c *Console) Init(base uintptr, g Geometry) {
	*c = Console{}
	bpp := uint32(g.BitsPerPixel) / 8
	if base == 0 || (bpp != 3 && bpp != 4) || g.Width < cellW || g.Height < glyphH || g.Pitch < bpp*g.Width {
		return
	}
	c.base, c.pitch, c.width, c.height, c.bpp = base, uintptr(g.Pitch), int(g.Width), int(g.Height), uintptr(bpp)
	c.cols, c.rows = c.width/cellW, c.height/glyphH
	const grey = 0xaa
	c.fg = grey<<g.RedPos | grey<<g.GreenPos | grey<<g.BluePos
	for y := 0; y < c.height; y++ {
		c.clearRow(y)
	}
}

// Size returns the console's columns and rows (0, 0 when off).
func (c *Console) Size() (cols, rows int) { return c.cols, c.rows }

// WriteByte shows one byte: printable ASCII as is, '\n' and '\r' as moves,
// tabs as spaces to the next multiple of 8, anything else as '?'.
// Context: boot or trap (the kernel console); does not allocate.
func (c *Console) WriteByte(b byte) error {
	if c.base == 0 {
		return nil
	}
	switch {
	case b == '\n':
		c.newline()
	case b == '\r':
		c.col = 0
	case b == '\t':
		for c.col%8 != 7 && c.col < c.cols-1 {
			c.put(' ')
		}
		c.put(' ')
	case b >= 0x20 && b < 0x7f:
		c.put(b)
	default:
		c.put('?')
	}
	return nil
}

// Write shows p.
func (c *Console) Write(p []byte) (int, error) {
	for _, b := range p {
		c.WriteByte(b)
	}
	return len(p), nil
}

// put draws b at the write position, wrapping first at the end of a line.
// Context: boot or trap; does not allocate.
func (c *Console) put(b byte) {
	if c.col == c.cols {
		c.newline()
	}
	c.draw(b, c.row, c.col)
	c.col++
}

// draw paints character b into cell (row, col).
// Context: boot or trap; does not allocate.
func (c *Console) draw(b byte, row, col int) {
	g := &glyphs[b-' ']
	for y := 0; y < glyphH; y++ {
		line := c.base + uintptr(row*glyphH+y)*c.pitch + uintptr(col*cellW)*c.bpp
		bits := g[y]
		for x := 0; x < cellW; x++ {
			var px uint32
			if x < 8 && bits&(0x80>>x) != 0 {
				px = c.fg
			}
			p := line + uintptr(x)*c.bpp
			if c.bpp == 4 {
				*(*uint32)(cpu.Pointer(p)) = px
				continue
			}
			*(*uint8)(cpu.Pointer(p)) = uint8(px)
			*(*uint8)(cpu.Pointer(p + 1)) = uint8(px >> 8)
			*(*uint8)(cpu.Pointer(p + 2)) = uint8(px >> 16)
		}
	}
}

// newline moves to the start of the next line, scrolling at the bottom.
// Context: boot or trap; does not allocate.
func (c *Console) newline() {
	c.col = 0
	if c.row < c.rows-1 {
		c.row++
		return
	}
	// Scroll: move every pixel row but the first text line's up by one
	// line, then clear the last text line.
	n := uintptr(c.rows-1) * glyphH * c.pitch
	copy(c.bytes(0, n), c.bytes(glyphH*c.pitch, n))
	for y := (c.rows - 1) * glyphH; y < c.rows*glyphH; y++ {
		c.clearRow(y)
	}
}

// bytes views n framebuffer bytes from offset off. Context: any. Not
// inlined: its copies cost the image bytes (issue 16's budget).
//
//go:noinline
func (c *Console) bytes(off, n uintptr) []byte {
	return unsafe.Slice((*byte)(cpu.Pointer(c.base+off)), n)
}

func (c *Console) clearRow(y int) {
	clear(c.bytes(uintptr(y)*c.pitch, uintptr(c.width)*c.bpp))
}
