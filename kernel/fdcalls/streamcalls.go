package fdcalls

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Reads and writes of eventfds, of pipe ends opened O_NONBLOCK and of
// stream and datagram Internet sockets opened O_NONBLOCK (a datagram to
// a local address goes into its receiver's ring: socket.SocketIO), the
// network stack's side of those sockets (/dev/netctl's read and its data
// requests), and the network driver's reads of its interrupts' counts
// (an MSI's /dev/irq descriptor, counted beside them by the interrupt:
// package kernel's deviceTrap), under the files lock alone (issue 18; package kernel's fileTrap).
// Every one of them holds it shared, beside other CPUs' calls: the
// eventfds' counters change by compare-and-swap, a pipe's ring under
// the pipe's lock (fs.Pipes.Lock), a socket's rings under the socket's
// lock, which the stack's read of each socket's event, its data moves
// and its releases take too (socket.SocketIO, socket.NetCtlRead,
// socket.NetCtlSharedIoctl), and a console queue under its word lock
// (console.VconWriteNow). None ever waits: an eventfd read with nothing counted and a write that
// would overflow answer EAGAIN (the runtime's eventfds are non-blocking),
// and so do such pipe ends and sockets (package net opens every socket
// O_NONBLOCK and waits in the netpoller). What they change for other
// threads they record, as on the locked path (vfs.PipeChanged,
// fdtab.Notify, the sockets' tellProgram and TellStack), and
// RecordsNeedKernel says whether waking someone needs the kernel lock's
// path, which the call then takes on its way back to the program. So the
// runtime's netpoller wake-ups (an eventfd write), a program's pipe and
// socket I/O and the network stack's moves do not wait for another CPU's
// futex calls, nor they for them. An Internet socket's close and
// shutdown are served here too, under the socket's lock and the epoll
// interest lists' (closeStreamShared, socket.SysShutdown). A pipe end's
// close is served here too, beside other calls (closeStreamShared), and
// records its pipe's
// change as a write does. A write to the console's standard
// streams on the virtio console (console.VconWriteNow) is served here
// too while a transmit slot is free, beside other CPUs' calls and
// writes (each queue's word lock keeps two writes of it apart): a full
// queue answers EAGAIN to a non-blocking descriptor, and vfs.WouldBlock,
// which sends the call to the kernel lock's path to wait there
// (console.VconWrite), to a blocking one.

// StreamCallNr reports whether StreamCall may serve system call nr:
// read, write, ioctl (the network stack's data requests) or shutdown; a
// close, which it serves on a pipe end or socket, is
// fdcalls.FileCallNr's too. Context: any; does not allocate.
func StreamCallNr(nr uint64) bool {
	return nr == unix.SYS_READ || nr == unix.SYS_WRITE || nr == unix.SYS_IOCTL || nr == unix.SYS_SHUTDOWN
}

// StreamCallOn reports whether StreamCall serves system call nr on f
// with first argument a1 (an ioctl's request): read or write of an
// eventfd, of a pipe end opened O_NONBLOCK or of a stream or datagram
// Internet socket opened O_NONBLOCK (socket.IOSocket); read of an
// interrupt descriptor of an MSI's vector (devices.IRQShared: its count
// taken as an eventfd's; a blocking read that finds none counted answers
// NotFileCall, for the locked path to wait); read of /dev/netctl, and its
// data, release, new-connection and connect-outcome requests (socket.NetCtlSharedReq); write of the console's standard
// streams where a virtio console port carries them (console.VconQueueOf);
// close of a pipe end or an Internet socket (closeStreamShared: a
// FIFO's end and some sockets answer NotFileCall, for the locked path);
// shutdown of an Internet socket.
// Context: trap, files lock held (or a first look without it, which the
// caller repeats under it); does not allocate.
func StreamCallOn(nr uint64, f *fdtab.File, a1 uintptr) bool {
	switch nr {
	case unix.SYS_READ, unix.SYS_WRITE:
		return f.Kind == fdtab.KindEventfd || f.Kind == fdtab.KindPipe && f.Nonblock ||
			socket.IOSocket(f) || f.Kind == fdtab.KindNetCtl && nr == unix.SYS_READ ||
			f.Kind == fdtab.KindIRQ && nr == unix.SYS_READ && devices.IRQShared(f) ||
			f.Kind == fdtab.KindConsole && nr == unix.SYS_WRITE && console.VconQueueOf(f.Stream) >= 0
	case unix.SYS_IOCTL:
		return f.Kind == fdtab.KindNetCtl && socket.NetCtlSharedReq(uint(a1))
	case unix.SYS_CLOSE:
		return f.Kind == fdtab.KindPipe || f.Kind == fdtab.KindSocket
	case unix.SYS_SHUTDOWN:
		return f.Kind == fdtab.KindSocket
	}
	return false
}

// StreamCall serves system call nr on descriptor fd, f, for which
// StreamCallOn holds, with the arguments after the descriptor, as the
// locked path's SysRead, SysWrite and SysIoctl would. It reaches only
// the file layer, the sockets, the console's standard streams' transmit
// queues (which are the files lock's: kernel/console/vconio.go) and the
// program's memory (tools/trapcheck's TestGometalFileLockDomain checks
// that in the built image). A console write that must wait answers
// vfs.WouldBlock, having written nothing; a descriptor closed beside
// since the caller looked (a pipe end's: closeStreamShared) answers
// NotFileCall, for the locked path. A close is a pipe end's
// or an Internet socket's (closeStreamShared), a shutdown an Internet
// socket's (socket.SysShutdown, under the socket's lock).
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func StreamCall(nr uint64, fd int, f *fdtab.File, a1, a2 uintptr, shared bool) int64 {
	if nr == unix.SYS_CLOSE {
		return closeStreamShared(fd, -1) // a FIFO's end answers NotFileCall
	}
	if nr == unix.SYS_SHUTDOWN { // under the interest lists' lock: epoll's looks read the flags it changes (socket.SockReadiness)
		spin.LockWord(&fdtab.EpollHeld)
		r := socket.SysShutdown(nil, sched.None, abi.SysArgs{uintptr(fd), a1})
		spin.UnlockWord(&fdtab.EpollHeld)
		return r
	}
	// The kind, and a pipe end's description and O_NONBLOCK, in one load:
	// a pipe end's or a socket's close and an open or accept beside may
	// give fd to another description or socket between two reads
	// (closeStreamShared).
	w, _ := fdtab.LoadFlags(fd)
	switch w.Kind() {
	case fdtab.KindEventfd:
		if nr == unix.SYS_READ {
			return eventfdRead(f, a1, a2)
		}
		return eventfdWrite(fd, f, a1, a2)
	case fdtab.KindSocket:
		if w&fdtab.FlagNonblock == 0 {
			return NotFileCall // closed beside and given to a blocking socket (accept4), or an F_SETFL beside: the locked path waits
		}
		return socket.SocketIO(nr == unix.SYS_WRITE, f.Socket, a1, a2)
	case fdtab.KindIRQ: // an MSI's count, read as a plain eventfd's is (the count only grows beside: devices.IRQInterruptShared)
		if !devices.IRQShared(f) {
			return NotFileCall // routed to a platform device's line since the caller looked: the locked path unmasks it
		}
		r := eventfdRead(f, a1, a2)
		if r == -abi.EAGAIN && w&fdtab.FlagNonblock == 0 {
			return NotFileCall // a blocking read with nothing counted: the locked path waits
		}
		return r
	case fdtab.KindNetCtl:
		if nr == unix.SYS_READ {
			return socket.NetCtlRead(a1, a2)
		}
		return socket.NetCtlSharedIoctl(uint(a1), a2, shared)
	case fdtab.KindConsole:
		return console.VconWriteNow(console.VconQueueOf(f.Stream), w&fdtab.FlagNonblock != 0, a1, a2)
	case fdtab.KindPipe: // its description, found by the word, stays whole until the hold ends (vfs.DropShared)
		d, nonblock := vfs.DescAt(w.Desc()), w&fdtab.FlagNonblock != 0
		if nr == unix.SYS_READ {
			if !fsys.CanRead(d) {
				return -abi.EBADF
			}
			return pipeReadNow(nonblock, d, a1, a2) // vfs.WouldBlock only if an F_SETFL beside cleared O_NONBLOCK: the locked path waits
		}
		if !fsys.CanWrite(d) {
			return -abi.EBADF
		}
		return pipeWriteNow(nonblock, d, a1, a2, shared)
	}
	return NotFileCall // closed beside since the caller looked: the locked path answers
}

// eventfdRead reads and resets eventfd f's counter, or takes 1 off it
// and reads 1 for an EFD_SEMAPHORE eventfd (f.Stream 1), as Linux's;
// EAGAIN if it is zero. Writes and reads may change it beside this read
// (the files lock held shared): the counter changes only if it still
// holds what the read saw, else the read starts again
// (fdtab.File.TakeCount), so no count is lost or read twice.
// Context: trap, files lock held; does not allocate.
func eventfdRead(f *fdtab.File, buf, n uintptr) int64 {
	if n < 8 {
		return -abi.EINVAL
	}
	for {
		c := f.Counted()
		if c == 0 {
			return -abi.EAGAIN // the runtime's eventfd is non-blocking
		}
		take := c
		if f.Stream != 0 {
			take = 1
		}
		if !vm.UserWrite64(buf, take) {
			return -abi.EFAULT
		}
		if f.TakeCount(c, take) {
			return 8
		}
	}
}

// eventfdWrite adds the 8-byte value at buf to eventfd fd's counter
// (fdtab.File.AddCount: reads and writes may change it beside this one)
// and records the change for the epoll instances watching it
// (fdtab.Notify).
// Context: trap, files lock held; does not allocate.
func eventfdWrite(fd int, f *fdtab.File, buf, n uintptr) int64 {
	if n < 8 {
		return -abi.EINVAL
	}
	v, ok := vm.UserRead64(buf)
	if !ok {
		return -abi.EFAULT
	}
	if v == 1<<64-1 {
		return -abi.EINVAL
	}
	if !f.AddCount(v) {
		return -abi.EAGAIN // would overflow; a blocking write would wait
	}
	fdtab.Notify(fd)
	return 8
}

// RecordsNeedKernel reports, after a call on CPU c under the files lock
// alone, whether what has been recorded needs the kernel lock's path to
// wake a thread: a pipe or a socket with a waiter (vfs.PipeWakePending,
// socket.ProgramWakePending), the stack's progress while an exit waits
// for it (socket.StackProgress), or a changed descriptor watched by an
// epoll instance whose waiter handOffWaiter could not hand to an idle
// CPU (counted: EvEpollWakeLocked; those it handed off,
// EvEpollWakeHandOff, leave wake IPIs in c.KickMask for the caller to
// send once it has released the files lock: thread.SendKicks). When the
// one such waiter is blocked on a busy CPU (its timeout, if any, in that
// CPU's heap), it
// reports true with that instance in c.EpollBusy (and the CPU in
// c.EpollBusyOn), the records kept for the kernel lock's path: the
// caller may queue that waiter under the run-queue locks instead
// (package kernel's epollWakeBusy, EpollTake), and the kept records then
// wake nobody when next looked at (nor when that caller finds the
// waiter woken meanwhile, nobody named). The
// descriptors' records that would wake nobody are dropped here instead,
// so that the kernel lock's paths do not take the files lock for them
// (package kernel's socketEvents). No pipe's or socket's waiter can start
// waiting meanwhile: that takes both locks, the files lock exclusively,
// and the caller holds it. An epoll instance's can, beside (SysEpollWait
// holds the files lock shared), but it is named before its last look at
// the list (nameWaiter), and the waiter is read here atomically after
// the record was made: either its look finds the change or this finds
// the waiter. A waiter
// that another CPU is waking under the kernel lock alone (a timeout, a
// signal) may still be seen: the call then takes the kernel lock's path
// for nothing. Calls beside it (the files lock held shared) record and
// look too: it clears fdtab.NotifyPending before it takes the records,
// a word at a time, so a record added after its take has the flag set
// again by its maker, and it puts back the word that wakes someone, with
// the flag, for the kernel lock's path. Every record is either dropped
// by a look that found no waiter for it, or whose waiter was handed
// off, or left with the flag set.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func RecordsNeedKernel(c *percpu.CPU) bool {
	c.EpollBusy = 0
	if vfs.PipeWakePending.Load() || socket.ProgramWakePending.Load() || socket.StackProgress.Load() {
		return true
	}
	if !fdtab.NotifyPending.Load() {
		return false
	}
	fdtab.NotifyPending.Store(false)
	for w := range fdtab.SetWords {
		m := fdtab.NotifyFDs.TakeWord(w)
		kept := false
		for b := m; b != 0; b &= b - 1 {
			if !wakeWatchers(c, w*64+bits.TrailingZeros64(b), &kept) {
				fdtab.NotifyFDs.PutWord(w, m)
				fdtab.NotifyPending.Store(true)
				c.EpollBusy = 0
				percpu.Count(c, percpu.EvEpollWakeLocked)
				return true
			}
		}
		if kept { // a busy CPU's waiter's: for the kernel lock's path if the caller cannot queue it
			fdtab.NotifyFDs.PutWord(w, m)
			fdtab.NotifyPending.Store(true)
		}
	}
	return c.EpollBusy != 0
}

// wakeWatchers wakes, without the kernel lock, the waiter of every epoll
// instance watching fd that has one (handOffWaiter), and reports false
// at the first that needs the kernel lock's path. A waiter blocked on a
// busy CPU is noted for the caller (c.EpollBusy, kept set: the records
// of its word stay), one instance's at most: a second sends both to
// that path.
// Context: trap, on CPU c, files lock held, kernel lock not held; does
// not allocate.
func wakeWatchers(c *percpu.CPU, fd int, kept *bool) bool {
	for m := epollWatch[fd]; m != 0; m &= m - 1 {
		i := bits.TrailingZeros8(m)
		ep := &epolls[i]
		if !ep.used || atomic.LoadInt32((*int32)(&ep.waiter)) == int32(sched.None) {
			continue
		}
		switch handOffWaiter(c, ep) {
		case wakeKernel:
			return false
		case wakeBusy:
			if c.EpollBusy != 0 && c.EpollBusy != int32(i)+1 {
				return false // a second one: the kernel lock's path wakes both
			}
			c.EpollBusy, *kept = int32(i)+1, true
		}
	}
	return true
}
