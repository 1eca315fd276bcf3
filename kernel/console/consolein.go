package console

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Console input: fd 0 reads a ring that the stdin port of the virtio
// console (vconio.go) or the UART's receive interrupt fills. Neither
// drops a byte: each stops taking input while the ring is full (the UART
// keeps its byte in the receive register, which makes QEMU hold back the
// rest; the virtio port keeps its slots), and reading makes room.
//
// The serial line is a terminal: Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT,
// which makes the Go runtime dump every goroutine's stack) signal the
// program. The stdin port is raw, any byte value passes, and the host
// closing it is end of file; with the kernel option tty (gometal run in
// a terminal, whose own line discipline is off) the kernel is the
// terminal's, in Linux's default (canonical) mode: input is echoed on the
// stdout port and edited a line at a time (Backspace erases a character,
// Ctrl-U the line; a carriage return ends the line as a newline), reads
// get whole lines, Ctrl-D ends the input for one read, and Ctrl-C, Ctrl-Z
// and Ctrl-\ send SIGINT, SIGTSTP and SIGQUIT (dropping the line typed).
const (
	ctrlC      = 0x03
	ctrlD      = 0x04
	ctrlU      = 0x15
	ctrlZ      = 0x1a
	ctrlBslash = 0x1c
	backspace  = 0x08
	del        = 0x7f
	maxCanon   = 4095 // the longest line a tty takes, as Linux's N_TTY
)

// Interrupt takes what the UART received, while the ring has room.
// Context: trap, kernel lock held.
func Interrupt() {
	var b [1]byte
	got := false
	for conin.Len+conin.Edit < conin.BufSize {
		c, ok := klog.Serial.TryReadByte()
		if !ok {
			break
		}
		b[0] = c
		consoleInput(b[:], true)
		got = true
	}
	if got {
		consoleInputArrived()
	}
}

// consoleInput adds received bytes to the ring (the caller checked that
// they fit); tty applies the terminal's signal characters, and with the
// kernel option tty the rest of a terminal's input processing (ttyInput).
// Context: trap, kernel lock held; does not allocate.
func consoleInput(b []byte, tty bool) {
	for _, c := range b {
		if tty && conin.TTY {
			ttyInput(c)
			continue
		}
		if tty && c == ctrlC {
			sendProcessSignal(int(unix.SIGINT))
			continue
		}
		if tty && c == ctrlBslash {
			sendProcessSignal(int(unix.SIGQUIT))
			continue
		}
		conin.Buf[(conin.Head+conin.Len)%conin.BufSize] = c
		conin.Len++
	}
}

// ttyInput is a terminal's canonical input processing of one byte: the
// line being typed grows after the readable bytes until a newline (or
// Ctrl-D) makes it readable. Context: trap, kernel lock held; does not
// allocate.
func ttyInput(c byte) {
	switch c {
	case ctrlC, ctrlZ, ctrlBslash:
		conin.Edit = 0
		ttyEcho('^')
		ttyEcho(c + '@')
		ttyEcho('\n')
		sig := unix.SIGINT
		if c == ctrlZ {
			sig = unix.SIGTSTP
		} else if c == ctrlBslash {
			sig = unix.SIGQUIT
		}
		sendProcessSignal(int(sig))
	case ctrlD:
		if conin.Edit == 0 && conin.EOFMark < 0 {
			conin.EOFMark = conin.Len
		}
		conin.Len, conin.Edit = conin.Len+conin.Edit, 0
	case del, backspace:
		ttyErase()
	case ctrlU:
		for conin.Edit > 0 {
			ttyErase()
		}
	default:
		if c == '\r' {
			c = '\n'
		}
		if c != '\n' && conin.Edit >= maxCanon {
			return // the line is full: only its end is taken
		}
		conin.Buf[(conin.Head+conin.Len+conin.Edit)%conin.BufSize] = c
		conin.Edit++
		ttyEcho(c)
		if c == '\n' {
			conin.Len, conin.Edit = conin.Len+conin.Edit, 0
		}
	}
}

// ttyErase removes the last character of the line being typed (a UTF-8
// sequence whole) and erases it on the screen. Context: trap; does not
// allocate.
func ttyErase() {
	for conin.Edit > 0 {
		conin.Edit--
		if conin.Buf[(conin.Head+conin.Len+conin.Edit)%conin.BufSize]&0xc0 != 0x80 {
			break // not a continuation byte: the character's start
		}
	}
	ttyEcho('\b')
	ttyEcho(' ')
	ttyEcho('\b')
}

// ttyEcho echoes one byte on the stdout port, if the program's stdout is
// there. Context: trap; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func ttyEcho(c byte) {
	if vconOn[vconPortStdout] {
		vconEcho(c)
	}
}

// vconEcho echoes one input byte on the stdout port if a slot is free
// (an echo is never worth blocking for). Context: trap, kernel and files
// locks held; does not allocate.
func vconEcho(c byte) {
	q := &VconQ[vqStdout]
	reapStd(q)
	if q.Full() {
		return
	}
	i := q.AvailIdx & (q.Size - 1)
	a := q.SlotAddr(i)
	*(*byte)(ptr(a)) = c
	q.Put(1)
	q.Publish()
}

// consoleInputArrived wakes the reader of fd 0 and the epoll instances
// that watch a console descriptor. Context: trap, kernel lock held.
func consoleInputArrived() {
	if conin.Reader != noThread {
		t := conin.Reader
		conin.Reader = noThread
		thread.Restart(t)
	}
	notifyConsoleFDs()
}

// sendProcessSignal directs sig at the program, as a terminal's signal
// characters do: the first thread that does not block it gets it.
// Context: trap (the console's interrupt), kernel lock held; does not
// allocate.
func sendProcessSignal(sig int) {
	thread.SysKill(percpu.This(), noThread, abi.SysArgs{1, uintptr(sig)}) // kill(1, sig)
}

// Readable reports whether a read of fd 0 would not wait.
// Context: trap; does not allocate.
func Readable() bool { return conin.Len > 0 || conin.EOF || conin.EOFMark >= 0 }

// Read copies buffered input to the program, returns 0 at end of
// file, or blocks t until some arrives. Context: trap, kernel lock held.
func Read(t sched.TID, f *fdtab.File, buf, n uintptr) int64 {
	if n == 0 {
		return 0
	}
	if conin.EOFMark == 0 {
		conin.EOFMark = -1
		return 0
	}
	if conin.Len == 0 {
		if conin.EOF {
			return 0
		}
		if f.Nonblock {
			return -abi.EAGAIN
		}
		if conin.Reader != noThread {
			return -abi.EAGAIN // one reader at a time; the Go runtime has one
		}
		thread.BlockIn(t, threadtab.WaitRead, &conin.Reader)
		return blocked
	}
	k := min(int(n), conin.Len)
	if conin.EOFMark > 0 {
		k = min(k, conin.EOFMark)
	}
	b, ok := vm.UserBytes(buf, uintptr(k), true)
	if !ok {
		return -abi.EFAULT
	}
	for i := range b {
		b[i] = conin.Buf[(conin.Head+i)%conin.BufSize]
	}
	conin.Head = (conin.Head + k) % conin.BufSize
	conin.Len -= k
	if conin.EOFMark > 0 {
		conin.EOFMark -= k
	}
	vconStdinPump() // room for more
	if klog.Serial.Pending() {
		Interrupt()
	}
	return int64(k)
}
