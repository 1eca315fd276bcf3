package fdcalls

import (
	"math/bits"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Reads and writes of eventfds, of pipe ends opened O_NONBLOCK and of
// stream Internet sockets opened O_NONBLOCK, and the network stack's
// side of those sockets (/dev/netctl's read and its data requests),
// under the files lock alone (issue 18; package kernel's fileTrap).
// None ever waits: an eventfd read with nothing counted and a write that
// would overflow answer EAGAIN (the runtime's eventfds are non-blocking),
// and so do such pipe ends and sockets (package net opens every socket
// O_NONBLOCK and waits in the netpoller). What they change for other
// threads they record, as on the locked path (vfs.PipeChanged,
// fdtab.Notify, the sockets' tellProgram and TellStack), and
// RecordsNeedKernel says whether waking someone needs the kernel lock's
// path, which the call then takes on its way back to the program. So the
// runtime's netpoller wake-ups (an eventfd write), a program's pipe and
// socket I/O and the network stack's moves do not wait for another CPU's
// futex calls, nor they for them. A write to the console's standard
// streams on the virtio console (console.VconWriteNow) is served here
// too while a transmit slot is free: a full queue answers EAGAIN to a
// non-blocking descriptor, and vfs.WouldBlock, which sends the call to
// the kernel lock's path to wait there (console.VconWrite), to a
// blocking one.

// StreamCallNr reports whether StreamCall may serve system call nr:
// read, write, or ioctl (the network stack's data requests).
// Context: any; does not allocate.
func StreamCallNr(nr uint64) bool {
	return nr == unix.SYS_READ || nr == unix.SYS_WRITE || nr == unix.SYS_IOCTL
}

// StreamCallOn reports whether StreamCall serves system call nr on f
// with first argument a1 (an ioctl's request): read or write of an
// eventfd, of a pipe end opened O_NONBLOCK or of a stream Internet socket
// opened O_NONBLOCK (socket.StreamSocket); read of /dev/netctl, and its
// data requests (socket.NetCtlDataReq); write of the console's standard
// streams where a virtio console port carries them (console.VconQueueOf).
// Context: trap, files lock held (or a first look without it, which the
// caller repeats under it); does not allocate.
func StreamCallOn(nr uint64, f *fdtab.File, a1 uintptr) bool {
	switch nr {
	case unix.SYS_READ, unix.SYS_WRITE:
		return f.Kind == fdtab.KindEventfd || f.Kind == fdtab.KindPipe && f.Nonblock ||
			socket.StreamSocket(f) || f.Kind == fdtab.KindNetCtl && nr == unix.SYS_READ ||
			f.Kind == fdtab.KindConsole && nr == unix.SYS_WRITE && console.VconQueueOf(f.Stream) >= 0
	case unix.SYS_IOCTL:
		return f.Kind == fdtab.KindNetCtl && socket.NetCtlDataReq(uint(a1))
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
// vfs.WouldBlock, having written nothing.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func StreamCall(nr uint64, fd int, f *fdtab.File, a1, a2 uintptr) int64 {
	switch f.Kind {
	case fdtab.KindEventfd:
		if nr == unix.SYS_READ {
			return eventfdRead(f, a1, a2)
		}
		return eventfdWrite(fd, f, a1, a2)
	case fdtab.KindSocket:
		return socket.StreamIO(nr == unix.SYS_WRITE, f.Socket, a1, a2)
	case fdtab.KindNetCtl:
		if nr == unix.SYS_READ {
			return socket.NetCtlRead(a1, a2)
		}
		return socket.NetCtlDataIoctl(uint(a1), a2)
	case fdtab.KindConsole:
		return console.VconWriteNow(console.VconQueueOf(f.Stream), f.Nonblock, a1, a2)
	}
	d := vfs.DescOf(f)
	if nr == unix.SYS_READ {
		if !fsys.CanRead(d) {
			return -abi.EBADF
		}
		return pipeReadNow(f, d, a1, a2) // never vfs.WouldBlock: f is O_NONBLOCK
	}
	if !fsys.CanWrite(d) {
		return -abi.EBADF
	}
	return pipeWriteNow(f, d, a1, a2)
}

// eventfdRead reads and resets eventfd f's counter, EAGAIN if it is zero.
// Context: trap, files lock held; does not allocate.
func eventfdRead(f *fdtab.File, buf, n uintptr) int64 {
	if n < 8 {
		return -abi.EINVAL
	}
	if f.Count == 0 {
		return -abi.EAGAIN // the runtime's eventfd is non-blocking
	}
	if !vm.UserWrite64(buf, f.Count) {
		return -abi.EFAULT
	}
	f.Count = 0
	f.Seq++
	return 8
}

// eventfdWrite adds the 8-byte value at buf to eventfd fd's counter and
// records the change for the epoll instances watching it (fdtab.Notify).
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
	if f.Count+v < f.Count || f.Count+v == 1<<64-1 {
		return -abi.EAGAIN // would overflow; a blocking write would wait
	}
	f.Count += v
	f.Seq++
	fdtab.Notify(fd)
	return 8
}

// RecordsNeedKernel reports, after a call under the files lock alone,
// whether what has been recorded needs the kernel lock's path to wake a
// thread: a pipe or a socket with a waiter (vfs.PipeWakePending,
// socket.ProgramWakePending), the stack's progress while an exit waits
// for it (socket.StackProgress), or a changed descriptor watched by an
// epoll instance that a thread waits in. The
// descriptors' records that would wake nobody are cleared here instead,
// so that the kernel lock's paths do not take the files lock for them
// (package kernel's socketEvents). No waiter can start waiting meanwhile:
// that takes both locks, and the caller holds the files lock. A waiter
// that another CPU is waking under the kernel lock alone (a timeout, a
// signal) may still be seen: the call then takes the kernel lock's path
// for nothing.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func RecordsNeedKernel() bool {
	if vfs.PipeWakePending.Load() || socket.ProgramWakePending.Load() || socket.StackProgress.Load() {
		return true
	}
	if !fdtab.NotifyPending.Load() {
		return false
	}
	for fd := fdtab.NotifyFDs.Next(0); fd >= 0; fd = fdtab.NotifyFDs.Next(fd + 1) {
		if epollWaiterWatches(fd) {
			return true
		}
	}
	fdtab.NotifyFDs.Clear()
	fdtab.NotifyPending.Store(false)
	return false
}

// epollWaiterWatches reports whether an epoll instance that a thread
// waits in watches fd. Context: trap, files lock held; does not allocate.
func epollWaiterWatches(fd int) bool {
	for m := epollWatch[fd]; m != 0; m &= m - 1 {
		if ep := &epolls[bits.TrailingZeros8(m)]; ep.used && ep.waiter != sched.None {
			return true
		}
	}
	return false
}
