package fbcon_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/drivers/fbcon"
	"github.com/gometal/gometal/kernel/ring3/fbtext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testScreen is a framebuffer in host memory with a row padding, as real
// ones often have (pitch > 4 * width).
type testScreen struct {
	pix           []uint32
	pitch         int // in pixels
	width, height int
}

func newTestScreen(cols, rows int) (*testScreen, *fbcon.Console) {
	s := &testScreen{width: cols * fbcon.CellWidth, height: rows * fbcon.CellHeight}
	s.pitch = s.width + 16
	s.pix = make([]uint32, s.pitch*s.height)
	for i := range s.pix {
		s.pix[i] = 0xdeadbeef // Init must clear it
	}
	var c fbcon.Console
	c.Init(uintptr(unsafe.Pointer(&s.pix[0])), fbcon.Geometry{Pitch: uint32(4 * s.pitch), Width: uint32(s.width), Height: uint32(s.height), BitsPerPixel: 32, RedPos: 16, GreenPos: 8, BluePos: 0})
	return s, &c
}

func (s *testScreen) text() []string {
	return fbtext.ReadText(func(x, y int) bool {
		p := s.pix[y*s.pitch+x]
		if p != 0 && p != 0xaaaaaa {
			panic("unexpected pixel value")
		}
		return p != 0
	}, s.width, s.height)
}

func TestConsoleDrawsText(t *testing.T) {
	s, c := newTestScreen(20, 4)
	cols, rows := c.Size()
	require.Equal(t, []int{20, 4}, []int{cols, rows})
	c.Write([]byte("[gometal] hi\n\tx\x01~"))
	assert.Equal(t, []string{"[gometal] hi", "        x?~", "", ""}, s.text())
	assert.Equal(t, uint32(0xdeadbeef), s.pix[s.width], "the padding after a pixel row is not the console's")
}

func TestConsoleWrapsAndScrolls(t *testing.T) {
	s, c := newTestScreen(10, 3)
	c.Write([]byte("line one\nline two\nline three is long\nend"))
	// "line three is long" wraps after 10 columns; the screen keeps the
	// last three lines.
	assert.Equal(t, []string{"line three", " is long", "end"}, s.text())
	c.Write([]byte("\r" + strings.Repeat("z", 3)))
	assert.Equal(t, "zzz", s.text()[2])
}

// TestConsole24 draws on a 3-bytes-per-pixel framebuffer, the mode GRUB
// leaves OVMF's display in.
func TestConsole24(t *testing.T) {
	const cols, rows = 6, 2
	w, h := cols*fbcon.CellWidth, rows*fbcon.CellHeight
	pitch := 3*w + 5
	mem := make([]byte, pitch*h)
	var c fbcon.Console
	c.Init(uintptr(unsafe.Pointer(&mem[0])), fbcon.Geometry{Pitch: uint32(pitch), Width: uint32(w), Height: uint32(h), BitsPerPixel: 24, RedPos: 16, GreenPos: 8})
	c.Write([]byte("ok 24\nbit"))
	text := fbtext.ReadText(func(x, y int) bool {
		p := mem[y*pitch+3*x:]
		return p[0]|p[1]|p[2] != 0
	}, w, h)
	assert.Equal(t, []string{"ok 24", "bit"}, text)
}

func TestConsoleOff(t *testing.T) {
	var c fbcon.Console
	c.Init(0, fbcon.Geometry{Width: 100, Height: 100, Pitch: 400, BitsPerPixel: 32})
	_, err := c.Write([]byte("nothing happens"))
	assert.NoError(t, err)
	cols, rows := c.Size()
	assert.Zero(t, cols+rows)
	c.Init(1234, fbcon.Geometry{Width: 100, Height: 100, Pitch: 100, BitsPerPixel: 32}) // pitch too small: refused
	cols, _ = c.Size()
	assert.Zero(t, cols)
	c.Init(1234, fbcon.Geometry{Width: 100, Height: 100, Pitch: 400, BitsPerPixel: 16}) // 16-bit: not drawn
	cols, _ = c.Size()
	assert.Zero(t, cols)
}
