package klog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLineFormats checks each of Line's formatters.
func TestLineFormats(t *testing.T) {
	var l Line
	l.S("cpu ").U(3).S(" ").I(-42).S(" ").X(0xdead).S(" ").HB(0x7f).S(" ").MS(1_234_567).B([]byte("!"))
	assert.Equal(t, "cpu 3 -42 0x000000000000dead 7f 1.234 ms!", string(l.Bytes()))
	var d [20]byte
	assert.Equal(t, "18446744073709551615", string(Decimal(&d, ^uint64(0))))
	assert.Equal(t, "0", string(Decimal(&d, 0)))
}

// TestLineHzPPM checks the clock report's frequency and percentage
// formats.
func TestLineHzPPM(t *testing.T) {
	for _, tt := range []struct {
		line func(l *Line)
		want string
	}{
		{func(l *Line) { l.Hz(2.1e9) }, "2.100 GHz"},
		{func(l *Line) { l.Hz(3579545) }, "3.579 MHz"},
		{func(l *Line) { l.Hz(1000) }, "1.000 kHz"},
		{func(l *Line) { l.Hz(900) }, "900 Hz"},
		{func(l *Line) { l.PPM(0) }, "0.0%"},
		{func(l *Line) { l.PPM(2849) }, "0.3%"},
		{func(l *Line) { l.PPM(333333) }, "33.4%"},
		{func(l *Line) { l.PPM(1e6) }, "100.0%"},
	} {
		var l Line
		tt.line(&l)
		assert.Equal(t, tt.want, string(l.Bytes()))
	}
}

// TestLineTruncates checks that a line longer than its buffer is cut,
// not overrun.
func TestLineTruncates(t *testing.T) {
	var l Line
	l.S(strings.Repeat("a", 250)).U(7).HB(1)
	assert.Equal(t, strings.Repeat("a", len(l.buf)), string(l.Bytes()))
	l.X(0x12) // X keeps writing its digits into the last byte
	assert.Equal(t, strings.Repeat("a", len(l.buf)-1)+"2", string(l.Bytes()))
}

// TestQuiet checks the quiet switch.
func TestQuiet(t *testing.T) {
	t.Cleanup(func() { SetQuiet(false) })
	SetQuiet(true)
	assert.True(t, Quiet())
	SetQuiet(false)
	assert.False(t, Quiet())
}

// TestNth checks the name tables' lookup: each name by its number, the
// empty names between, and "" past either end.
func TestNth(t *testing.T) {
	const list = "zero\x00one\x00\x00three\x00"
	for n, want := range []string{"zero", "one", "", "three", ""} {
		assert.Equal(t, want, Nth(list, n), "name %d", n)
	}
	assert.Empty(t, Nth(list, -1))
	assert.Empty(t, Nth("", 0))
}
