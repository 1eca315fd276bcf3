package kernel

import (
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
// a terminal) it behaves like a terminal in raw-input mode with echo:
// Ctrl-C, Ctrl-Z and Ctrl-\ send SIGINT, SIGTSTP and SIGQUIT, Ctrl-D is
// end of file for one read, a carriage return arrives as a newline, and
// the input is echoed on the stdout port.
const (
	conBufSize = 16384
	ctrlC      = 0x03
	ctrlD      = 0x04
	ctrlZ      = 0x1a
	ctrlBslash = 0x1c
)

var (
	conBuf          [conBufSize]byte
	conHead, conLen int
	conReader       = noThread // a thread blocked in read(0)
	conEOF          bool       // the host closed the stdin port
	conEOFMark      = -1       // tty Ctrl-D: reads stop after this many bytes and return 0 once
	conTTY          bool       // kernel option tty
)

// consoleInterrupt takes what the UART received, while the ring has room.
// Context: trap, kernel lock held.
func consoleInterrupt() {
	var b [1]byte
	got := false
	for conLen < conBufSize {
		c, ok := console.TryReadByte()
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
// they fit); tty applies the terminal's signal characters and, on the
// stdin port, the rest of the tty option's processing.
// Context: trap, kernel lock held; does not allocate.
func consoleInput(b []byte, tty bool) {
	for _, c := range b {
		if tty {
			switch {
			case c == ctrlC:
				sendProcessSignal(int(unix.SIGINT))
				continue
			case c == ctrlBslash:
				sendProcessSignal(int(unix.SIGQUIT))
				continue
			case c == ctrlZ && conTTY:
				sendProcessSignal(int(unix.SIGTSTP))
				continue
			case c == ctrlD && conTTY:
				if conEOFMark < 0 {
					conEOFMark = conLen
				}
				continue
			case c == '\r' && conTTY:
				c = '\n'
			}
			if conTTY && vconOn[vconPortStdout] {
				vconEcho(c)
			}
		}
		conBuf[(conHead+conLen)%conBufSize] = c
		conLen++
	}
}

// vconEcho echoes one input byte on the stdout port if a slot is free
// (an echo is never worth blocking for). Context: trap; does not allocate.
func vconEcho(c byte) {
	q := &vconQ[vqStdout]
	q.reapTx()
	if q.full() {
		return
	}
	i := q.availIdx & (q.size - 1)
	a := q.slotAddr(i)
	*(*byte)(ptr(a)) = c
	q.put(1)
	q.publish()
}

// consoleInputArrived wakes the reader of fd 0 and the epoll instances
// that watch a console descriptor. Context: trap, kernel lock held.
func consoleInputArrived() {
	if conReader != noThread {
		t := conReader
		conReader = noThread
		restart(t)
	}
	notifyConsoleFDs()
}

// sendProcessSignal directs sig at the program, as a terminal's signal
// characters do: the first thread that does not block it gets it.
func sendProcessSignal(sig int) {
	sysKill(1, -1, sig)
}

// consoleReadable reports whether a read of fd 0 would not wait.
// Context: trap; does not allocate.
func consoleReadable() bool { return conLen > 0 || conEOF || conEOFMark >= 0 }

// consoleRead copies buffered input to the program, returns 0 at end of
// file, or blocks t until some arrives. Context: trap, kernel lock held.
func consoleRead(t sched.TID, f *file, buf, n uintptr) int64 {
	if n == 0 {
		return 0
	}
	if conEOFMark == 0 {
		conEOFMark = -1
		return 0
	}
	if conLen == 0 {
		if conEOF {
			return 0
		}
		if f.nonblock {
			return -_EAGAIN
		}
		if conReader != noThread {
			return -_EAGAIN // one reader at a time; the Go runtime has one
		}
		conReader = t
		block(t, waitRead)
		return blocked
	}
	k := min(int(n), conLen)
	if conEOFMark > 0 {
		k = min(k, conEOFMark)
	}
	b, ok := userBytes(buf, uintptr(k), true)
	if !ok {
		return -_EFAULT
	}
	for i := range b {
		b[i] = conBuf[(conHead+i)%conBufSize]
	}
	conHead = (conHead + k) % conBufSize
	conLen -= k
	if conEOFMark > 0 {
		conEOFMark -= k
	}
	vconStdinPump() // room for more
	if console.Pending() {
		consoleInterrupt()
	}
	return int64(k)
}

// restart wakes t so that it executes its system call again (SYSCALL is
// two bytes long): used for reads that had to wait for data.
func restart(t sched.TID) {
	th := &threads[t]
	th.regs.RIP -= 2
	wake(t, int64(th.restartNr))
}
