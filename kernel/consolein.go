package kernel

import (
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Console input: the UART's receive interrupt fills a ring that fd 0
// reads. The host terminal does the echoing and line editing, so bytes
// pass through raw, except the two signal characters of a terminal:
// Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT, which makes the Go runtime dump
// every goroutine's stack).
const (
	conBufSize = 4096
	ctrlC      = 0x03
	ctrlBslash = 0x1c
)

var (
	conBuf          [conBufSize]byte
	conHead, conLen int
	conReader       = noThread // a thread blocked in read(0)
	conDropped      uint64     // bytes lost to a full ring
)

// consoleInterrupt drains the UART. Context: trap, kernel lock held.
func consoleInterrupt() {
	got := false
	for {
		b, ok := console.TryReadByte()
		if !ok {
			break
		}
		switch b {
		case ctrlC:
			sendProcessSignal(int(unix.SIGINT))
			continue
		case ctrlBslash:
			sendProcessSignal(int(unix.SIGQUIT))
			continue
		}
		if conLen == conBufSize {
			conDropped++
			continue
		}
		conBuf[(conHead+conLen)%conBufSize] = b
		conLen++
		got = true
	}
	if !got {
		return
	}
	if conReader != noThread {
		t := conReader
		conReader = noThread
		restart(t)
	}
	for fd := range files {
		if files[fd].kind == fdConsole {
			files[fd].seq++
			epollNotify(fd)
		}
	}
}

// sendProcessSignal directs sig at the program, as a terminal's signal
// characters do: the first thread that does not block it gets it.
func sendProcessSignal(sig int) {
	sysKill(1, -1, sig)
}

// consoleRead copies buffered input to the program, or blocks t until some
// arrives. Context: trap, kernel lock held.
func consoleRead(t sched.TID, f *file, buf, n uintptr) int64 {
	if n == 0 {
		return 0
	}
	if conLen == 0 {
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
	b, ok := userBytes(buf, uintptr(k), true)
	if !ok {
		return -_EFAULT
	}
	for i := range b {
		b[i] = conBuf[(conHead+i)%conBufSize]
	}
	conHead = (conHead + k) % conBufSize
	conLen -= k
	return int64(k)
}

// restart wakes t so that it executes its system call again (SYSCALL is
// two bytes long): used for reads that had to wait for data.
func restart(t sched.TID) {
	th := &threads[t]
	th.regs.RIP -= 2
	wake(t, int64(th.restartNr))
}
