// Package console is the program's console: the virtio console's ports
// (SetupVirtio, VconWrite, VconInterrupt, VconDrain; the program's
// standard streams and the kernel log each on a port of their own), and
// console input, the ring fd 0 reads (kernel/conin holds it as data),
// filled by the serial port's receive interrupt (Interrupt) or the virtio
// console's stdin port, read by Read, with the terminal's line editing
// and signal characters under the kernel option tty.
//
// It lies below package kernel, which dispatches reads, writes and epoll
// by descriptor kind and routes the device interrupts (kernel/devices).
// A console descriptor whose readiness changed is recorded
// (fdtab.Notify), not handed to epoll, which is above: package kernel
// acts on the record (socketEvents) after the interrupt or system call.
// docs/kernel-layout.md.
//
// The standard streams' transmit queues are the files lock's, the rest
// is used under the kernel lock too (vconio.go says which lock covers
// what). Trap context (docs/trap-context.md): nothing here allocates.
package console

import (
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/sched"
)

// blocked is returned by a handler whose thread now waits (thread.Blocked).
const blocked = thread.Blocked

// noThread is no thread (sched.None).
const noThread = sched.None
