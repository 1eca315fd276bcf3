// Package klog is the kernel log and the serial console under it: the
// Line builder that formats on the stack, the COM1 port with its VGA and
// framebuffer mirrors, and, once the virtio console is up, that console's
// log port (UseVcon). Kernel lines start with Prefix (docs/protocols.md).
// Context: any (boot, trap); nothing here allocates.
package klog

import (
	"github.com/gometal/gometal/drivers/fbcon"
	"github.com/gometal/gometal/drivers/uart"
	"github.com/gometal/gometal/drivers/vga"
)

// The console is COM1 (Serial). The program's fds 1 and 2 and the kernel
// log share it; kernel lines start with Prefix so the host can tell them
// apart (docs/protocols.md).
var (
	Serial   uart.Port     // the console; its receive side is console input (kernel/consolein.go)
	Screen   vga.Screen    // mirror of the console on a VGA text screen, if any
	FBScreen fbcon.Console // mirror on the boot loader's framebuffer (UEFI), if any
	col      int           // bytes since the last newline the console printed
	quiet    bool
)

// out sends one byte to the serial console and its screen mirrors.
// Context: any; does not allocate.
func out(c byte) {
	Serial.WriteByte(c)
	Screen.WriteByte(c)
	FBScreen.WriteByte(c)
}

// outBytes sends bytes to the serial console and its VGA mirror.
func outBytes(b []byte) {
	for _, c := range b {
		out(c)
	}
}

// Prefix starts every kernel log line on the serial console.
const Prefix = "[gometal] "

// ConsoleWrite sends program output to the console. Context: trap; does
// not allocate.
func ConsoleWrite(b []byte) {
	for _, c := range b {
		out(c)
		if c == '\n' {
			col = 0
		} else {
			col++
		}
	}
}

// Line builds one kernel log line on the stack:
//
//	var l Line
//	l.S("cpu ").U(3).S(" up")
//	l.Print()
//
// Its appending methods are not inlined (go:noinline): the kernel calls
// them at several hundred places, nearly all on boot and error paths, and
// inlined copies there cost about 70 KB of code and line tables in every
// image (docs/performance.md, "Image size").
type Line struct {
	buf [200]byte
	n   int
}

// Reset empties l for the next line, as a new Line but without zeroing
// its buffer, which only its first l.n bytes are read of: a function that
// logs several lines reuses one Line (each zeroing costs code, issue 16's
// budget). Context: any; does not allocate.
//
//go:noinline
func (l *Line) Reset() { l.n = 0 }

// S appends s.
// Context: any; does not allocate.
//
//go:noinline
func (l *Line) S(s string) *Line {
	for i := 0; i < len(s) && l.n < len(l.buf); i++ {
		l.buf[l.n] = s[i]
		l.n++
	}
	return l
}

// B appends s.
// Context: any; does not allocate.
//
//go:noinline
func (l *Line) B(s []byte) *Line {
	for i := 0; i < len(s) && l.n < len(l.buf); i++ {
		l.buf[l.n] = s[i]
		l.n++
	}
	return l
}

// U appends an unsigned Decimal.
// Context: any; does not allocate.
//
//go:noinline
func (l *Line) U(v uint64) *Line {
	var d [20]byte
	return l.B(Decimal(&d, v))
}

// Decimal formats v into d and returns the digits. Context: any; does not
// allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func Decimal(d *[20]byte, v uint64) []byte {
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return d[i:]
		}
	}
}

// HB appends a byte as two hex digits.
// Context: any; does not allocate.
//
//go:noinline
func (l *Line) HB(v byte) *Line {
	const digits = "0123456789abcdef"
	if l.n+2 <= len(l.buf) {
		l.buf[l.n], l.buf[l.n+1] = digits[v>>4], digits[v&15]
		l.n += 2
	}
	return l
}

// I appends a signed Decimal.
// Context: boot or trap; does not allocate.
//
//go:noinline
func (l *Line) I(v int64) *Line {
	if v < 0 {
		l.S("-")
		return l.U(uint64(-v))
	}
	return l.U(uint64(v))
}

// X appends 0x and 16 hex digits.
// Context: any; does not allocate.
//
//go:noinline
func (l *Line) X(v uint64) *Line {
	l.S("0x")
	for sh := 60; sh >= 0; sh -= 4 {
		l.buf[min(l.n, len(l.buf)-1)] = "0123456789abcdef"[(v>>uint(sh))&15]
		if l.n < len(l.buf) {
			l.n++
		}
	}
	return l
}

// MS appends a duration in nanoseconds as milliseconds with 3 decimals.
// Context: boot or trap; does not allocate.
//
//go:noinline
func (l *Line) MS(ns int64) *Line {
	l.I(ns / 1e6).S(".")
	frac := (ns % 1e6) / 1e3
	if frac < 0 {
		frac = -frac
	}
	if frac < 100 {
		l.S("0")
	}
	if frac < 10 {
		l.S("0")
	}
	return l.U(uint64(frac)).S(" ms")
}

// Hz appends a frequency with three decimals in the largest unit that
// keeps a digit before the point: "2.100 GHz", "3.579 MHz", "900 Hz".
// Context: any; does not allocate.
func (l *Line) Hz(hz uint64) *Line {
	unit, div := " Hz", uint64(1)
	switch {
	case hz >= 1e9:
		unit, div = " GHz", 1e9
	case hz >= 1e6:
		unit, div = " MHz", 1e6
	case hz >= 1e3:
		unit, div = " kHz", 1e3
	}
	l.U(hz / div)
	if div > 1 {
		frac := (hz % div) * 1000 / div
		l.B([]byte{'.', byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)})
	}
	return l.S(unit)
}

// PPM appends a parts-per-million value as a percentage with one
// decimal, rounded up ("0.3%" for 2,849). Context: any; does not
// allocate.
func (l *Line) PPM(ppm uint64) *Line {
	tenths := (ppm + 999) / 1000
	return l.U(tenths / 10).B([]byte{'.', byte('0' + tenths%10), '%'})
}

// Print writes the line with the log prefix, starting on a fresh line: if
// the program left a partial line, a "\r\n" goes first, which the host's
// console splitter removes again. Context: trap; does not allocate.
// Not inlined, as the appenders.
//
//go:noinline
func (l *Line) Print() { Write(l.buf[:l.n]) }

// Bytes returns the line's text so far.
func (l *Line) Bytes() []byte { return l.buf[:l.n] }

// Info prints l unless the command line said quiet.
// Context: boot or trap; does not allocate. Not inlined, as the appenders.
//
//go:noinline
func (l *Line) Info() {
	if !quiet {
		l.Print()
	}
}

// Print prints one fixed message.
// Context: boot or trap; does not allocate.
func Print(s string) {
	var l Line
	l.S(s).Print()
}

// SetQuiet turns the informational lines (Line.Info) off or on: the
// quiet kernel option. Context: boot.
func SetQuiet(q bool) { quiet = q }

// Quiet reports whether the informational lines are off.
func Quiet() bool { return quiet }

// Nth returns the n-th name of list, whose names each end with a NUL,
// or "" past its end: a name table as one string in read-only data,
// where a [N]string would put N string headers in the image's data
// segment (issue 16's budget). Context: any; does not allocate.
func Nth(list string, n int) string {
	start := 0
	for i := 0; i < len(list); i++ {
		if list[i] != 0 {
			continue
		}
		if n == 0 {
			return list[start:i]
		}
		n, start = n-1, i+1
	}
	return ""
}
