package kernel

import (
	"github.com/gometal/gometal/drivers/fbcon"
	"github.com/gometal/gometal/drivers/uart"
	"github.com/gometal/gometal/drivers/vga"
)

// The console is COM1. The program's fds 1 and 2 and the kernel log share
// it; kernel lines start with logPrefix so the host can tell them apart
// (docs/protocols.md).
var (
	console    uart.Port
	screen     vga.Screen    // mirror of the console on a VGA text screen, if any
	fbScreen   fbcon.Console // mirror on the boot loader's framebuffer (UEFI), if any
	consoleCol int           // bytes since the last newline the console printed
	logQuiet   bool
)

// conOut sends one byte to the serial console and its screen mirrors.
// Context: any; does not allocate.
func conOut(c byte) {
	console.WriteByte(c)
	screen.WriteByte(c)
	fbScreen.WriteByte(c)
}

// conWrite sends bytes to the serial console and its VGA mirror.
func conWrite(b []byte) {
	for _, c := range b {
		conOut(c)
	}
}

const logPrefix = "[gometal] "

// consoleWrite sends program output to the console. Context: trap; does
// not allocate.
func consoleWrite(b []byte) {
	for _, c := range b {
		conOut(c)
		if c == '\n' {
			consoleCol = 0
		} else {
			consoleCol++
		}
	}
}

// logLine builds one kernel log line on the stack:
//
//	var l logLine
//	l.s("cpu ").u(3).s(" up")
//	l.print()
type logLine struct {
	buf [200]byte
	n   int
}

func (l *logLine) s(s string) *logLine {
	for i := 0; i < len(s) && l.n < len(l.buf); i++ {
		l.buf[l.n] = s[i]
		l.n++
	}
	return l
}

func (l *logLine) b(s []byte) *logLine {
	for i := 0; i < len(s) && l.n < len(l.buf); i++ {
		l.buf[l.n] = s[i]
		l.n++
	}
	return l
}

// u appends an unsigned decimal.
func (l *logLine) u(v uint64) *logLine {
	var d [20]byte
	return l.b(decimal(&d, v))
}

// decimal formats v into d and returns the digits. Context: any; does not
// allocate.
func decimal(d *[20]byte, v uint64) []byte {
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

// hb appends a byte as two hex digits.
func (l *logLine) hb(v byte) *logLine {
	const digits = "0123456789abcdef"
	if l.n+2 <= len(l.buf) {
		l.buf[l.n], l.buf[l.n+1] = digits[v>>4], digits[v&15]
		l.n += 2
	}
	return l
}

// i appends a signed decimal.
// Context: boot or trap; does not allocate.
func (l *logLine) i(v int64) *logLine {
	if v < 0 {
		l.s("-")
		return l.u(uint64(-v))
	}
	return l.u(uint64(v))
}

// x appends 0x and 16 hex digits.
func (l *logLine) x(v uint64) *logLine {
	l.s("0x")
	for sh := 60; sh >= 0; sh -= 4 {
		l.buf[min(l.n, len(l.buf)-1)] = "0123456789abcdef"[(v>>uint(sh))&15]
		if l.n < len(l.buf) {
			l.n++
		}
	}
	return l
}

// ms appends a duration in nanoseconds as milliseconds with 3 decimals.
// Context: boot or trap; does not allocate.
func (l *logLine) ms(ns int64) *logLine {
	l.i(ns / 1e6).s(".")
	frac := (ns % 1e6) / 1e3
	if frac < 0 {
		frac = -frac
	}
	if frac < 100 {
		l.s("0")
	}
	if frac < 10 {
		l.s("0")
	}
	return l.u(uint64(frac)).s(" ms")
}

// print writes the line with the log prefix, starting on a fresh line: if
// the program left a partial line, a "\r\n" goes first, which the host's
// console splitter removes again. Context: trap; does not allocate.
func (l *logLine) print() { printLog(l.buf[:l.n]) }

// printLog writes text as one kernel log line: to the virtio console's
// log port, or on COM1 with the prefix, starting on a fresh line.
// Context: trap or boot; does not allocate.
func printLog(text []byte) {
	if vconLog(text) {
		return
	}
	if consoleCol != 0 {
		conOut('\r')
		conOut('\n')
	}
	conWrite([]byte(logPrefix))
	conWrite(text)
	conOut('\n')
	consoleCol = 0
}

// info prints l unless the command line said quiet.
func (l *logLine) info() {
	if !logQuiet {
		l.print()
	}
}

// logs prints one fixed message.
// Context: boot or trap; does not allocate.
func logs(s string) {
	var l logLine
	l.s(s).print()
}

// kmsgMax bounds a /dev/kmsg record, as Linux's 1024-byte records.
const kmsgMax = 1024

// kmsgWrite implements write on /dev/kmsg: the bytes up to the first
// newline, at most kmsgMax, become one kernel log line.
// Context: trap, kernel lock held; does not allocate.
func kmsgWrite(buf, n uintptr) int64 {
	b, ok := userBytes(buf, min(n, kmsgMax), false)
	if !ok {
		return -_EFAULT
	}
	for i, c := range b {
		if c == '\n' {
			b = b[:i]
			break
		}
	}
	printLog(b)
	return int64(n)
}
