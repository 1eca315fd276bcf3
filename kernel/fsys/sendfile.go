package fsys

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// sendfile(2): bytes of a regular file go to a TCP or Unix-domain
// socket, a pipe, another file or a device without passing through the
// program. One call moves at most one buffer (unixBuf) of bytes; the
// program calls again for more, as Go's poller does.

// sendfileMax is Linux's MAX_RW_COUNT, the most one call moves.
const sendfileMax = 0x7ffff000

// SysSendfile copies up to count bytes of the file open at inFD, from
// *offAddr (which advances) or, when offAddr is 0, from the description's
// offset, to outFD. EINVAL when inFD is not a regular file or outFD cannot
// take the bytes this way (a datagram socket, an epoll instance, a file
// open for appending), EBADF for descriptors not open for it.
// Context: trap, kernel lock held; does not allocate.
func SysSendfile(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	outFD, inFD, offAddr, count := int(a[0]), int(a[1]), a[2], a[3]
	in, out := fdtab.Get(inFD), fdtab.Get(outFD)
	if in == nil || out == nil {
		return -abi.EBADF
	}
	if e := sendfileCheck(in, out); e != 0 {
		return e
	}
	if !socket.UnixTables() { // sendfile copies through unixBuf
		return -abi.ENOMEM
	}
	d := vfs.DescOf(in)
	pos := d.Off
	if offAddr != 0 {
		v, ok := vm.UserRead64(offAddr)
		if !ok {
			return -abi.EFAULT
		}
		if int64(v) < 0 {
			return -abi.EINVAL
		}
		pos = int64(v)
	}
	n := min(int64(min(count, sendfileMax, uintptr(len(socket.UnixBuf())))), max(vfs.Root.Size(d.Ino)-pos, 0))
	if n == 0 {
		return 0
	}
	m := vfs.Mem()
	got, fe := vfs.Root.Read(&m, d.Ino, pos, socket.UnixBuf()[:n])
	if fe != 0 {
		return -int64(fe)
	}
	put := kernelWrite(t, out, socket.UnixBuf()[:got])
	if put <= 0 || put == blocked {
		return put
	}
	if offAddr != 0 {
		vm.UserWrite64(offAddr, uint64(pos+put))
	} else {
		d.Off += put
	}
	return put
}

// sendfileCheck checks sendfile's descriptors: a readable regular file in,
// a writable descriptor out that takes kernel bytes.
// Context: trap, kernel lock held; does not allocate.
func sendfileCheck(in, out *fdtab.File) int64 {
	switch {
	case in.Kind != fdtab.KindFile:
		return -abi.EINVAL
	case !CanRead(vfs.DescOf(in)):
		return -abi.EBADF
	case !vfs.Root.IsRegular(vfs.DescOf(in).Ino):
		return -abi.EINVAL
	case vfs.HasDesc(out.Kind) && !CanWrite(vfs.DescOf(out)):
		return -abi.EBADF
	case out.Kind == fdtab.KindFile && (vfs.DescOf(out).Flags&unix.O_APPEND != 0 || !vfs.Root.IsRegular(vfs.DescOf(out).Ino)):
		return -abi.EINVAL
	case out.Kind == fdtab.KindSocket && socket.Sockets[out.Socket].Typ != abi.SockStream:
		return -abi.EINVAL
	}
	switch out.Kind {
	case fdtab.KindSocket, fdtab.KindUnix, fdtab.KindFile, fdtab.KindPipe, fdtab.KindDev, fdtab.KindConsole:
		return 0
	}
	return -abi.EINVAL
}

// kernelWrite writes the kernel bytes b to out as write(2) would: the
// bytes taken, an errno, or blocked (t then waits, and executes its call
// again).
// Context: trap, kernel lock held; does not allocate.
func kernelWrite(t sched.TID, out *fdtab.File, b []byte) int64 {
	switch out.Kind {
	case fdtab.KindSocket:
		return tcpKernelWrite(t, out, b)
	case fdtab.KindUnix:
		return unixKernelWrite(t, out, b)
	case fdtab.KindPipe:
		p := int(vfs.DescOf(out).Pipe)
		return vfs.WaitPipeIf(t, p, vfs.PipeWriteNow(p, out.Nonblock, b, false))
	case fdtab.KindFile:
		d := vfs.DescOf(out)
		m := vfs.Mem()
		put, e := vfs.Root.Write(&m, d.Ino, d.Off, b)
		vfs.Done(&m)
		if put == 0 && e != 0 {
			return -int64(e)
		}
		d.Off += int64(put)
		return int64(put)
	case fdtab.KindDev:
		if vfs.Root.Rdev(vfs.DescOf(out).Ino) == DevFull {
			return -abi.ENOSPC
		}
	case fdtab.KindConsole:
		klog.ConsoleWrite(b)
	}
	return int64(len(b))
}

// tcpKernelWrite queues kernel bytes on a connected TCP socket, as
// sockSend does for the program's.
// Context: trap, kernel lock held; does not allocate.
func tcpKernelWrite(t sched.TID, out *fdtab.File, b []byte) int64 {
	i := out.Socket
	s := &socket.Sockets[i]
	if s.SoError != 0 {
		err := int64(s.SoError)
		s.SoError = 0
		return -err
	}
	switch {
	case s.State == abi.SockFailed || s.Flags&abi.EvShutWr != 0 || s.State != abi.SockConnected && s.State != abi.SockConnecting:
		return -abi.EPIPE
	case s.State == abi.SockConnecting || s.Tx.Space() == 0:
		if out.Nonblock {
			return -abi.EAGAIN
		}
		return socket.SockWait(t, i, unix.SYS_SENDFILE)
	}
	put := s.Tx.Put(b, true)
	if put == 0 {
		return -abi.ENOBUFS
	}
	socket.TellStack(i)
	return int64(put)
}

// unixKernelWrite sends kernel bytes on a Unix-domain socket.
// Context: trap, kernel lock held; does not allocate.
func unixKernelWrite(t sched.TID, out *fdtab.File, b []byte) int64 {
	i := out.Socket
	m := vfs.Mem()
	n, e := socket.Usocks().Send(&m, i, -1, b, 0)
	vfs.Done(&m)
	dest := socket.Usocks().Peer(i)
	if e == unix.EAGAIN && !out.Nonblock && dest >= 0 {
		return vfs.WaitKey(t, socket.UnixKey(dest))
	}
	if e != 0 {
		return -int64(e)
	}
	if dest >= 0 {
		socket.UnixNotify(dest)
	}
	return int64(n)
}
