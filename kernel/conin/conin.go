// Package conin holds console input's state as data: the ring that fd 0
// reads, which the virtio console's stdin port or the UART fills, and the
// thread blocked reading it. The code that fills and reads the ring (and
// the terminal's line discipline) is package kernel's
// (kernel/consolein.go); the state sits below the kernel panic report,
// which prints it (docs/kernel-layout.md). The kernel lock guards it.
// Context: trap; nothing here allocates.
package conin

import "github.com/gometal/gometal/sched"

// BufSize is the ring's size in bytes.
const BufSize = 16384

var (
	// Buf is the ring: Len readable bytes from Head, then Edit bytes of
	// the line being typed (tty).
	Buf       [BufSize]byte
	Head, Len int
	// Reader is the thread blocked in read(0), or sched.None.
	Reader = sched.None
	// EOF: the host closed the stdin port.
	EOF bool
	// EOFMark is the tty's Ctrl-D: reads stop after this many bytes and
	// return 0 once; -1 when none.
	EOFMark = -1
	// TTY: the kernel option tty (the kernel is the terminal's).
	TTY bool
	// Edit counts the bytes of the line being typed (tty), after the Len
	// readable ones.
	Edit int
)
