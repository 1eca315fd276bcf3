package socket

import (
	"encoding/binary"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// Unix-domain sockets: descriptors in flight (SCM_RIGHTS), options,
// readiness notifications and closing. Context (every function here):
// trap, kernel lock held; none allocates.

// unixTakeRights reads the control data at (ctl, n) of a sendmsg and
// makes a rights set of its SCM_RIGHTS descriptors, each holding a
// reference (0 when there are none). SCM_CREDENTIALS is accepted and
// ignored. EBADF for a descriptor that is not open, EINVAL for bad
// control data, a descriptor that cannot travel (TCP sockets, epoll
// instances, eventfds, kernel files) or more than fs.MaxUnixRights.
// Context: trap, kernel lock held; does not allocate.
func unixTakeRights(ctl, n uintptr) (int, int64) {
	if ctl == 0 || n < cmsgHdrSize {
		return 0, 0
	}
	b, ok := vm.UserBytes(ctl, min(n, 1<<16), false)
	if !ok {
		return 0, -abi.EFAULT
	}
	set := 0
	for off := 0; off+cmsgHdrSize <= len(b); {
		clen := int(binary.LittleEndian.Uint64(b[off:]))
		level := int32(binary.LittleEndian.Uint32(b[off+8:]))
		typ := int32(binary.LittleEndian.Uint32(b[off+12:]))
		if clen < cmsgHdrSize || clen > len(b)-off {
			return unixFailRights(set, -abi.EINVAL)
		}
		if level == unix.SOL_SOCKET {
			switch typ {
			case unix.SCM_RIGHTS:
				var e int64
				if set, e = unixAddRights(set, b[off+cmsgHdrSize:off+clen]); e != 0 {
					return unixFailRights(set, e)
				}
			case unix.SCM_CREDENTIALS:
			default:
				return unixFailRights(set, -abi.EINVAL)
			}
		}
		off += (clen + 7) &^ 7
	}
	return set, 0
}

// unixFailRights drops rights set k (if any) and returns e.
// Context: trap, kernel lock held; does not allocate.
func unixFailRights(k int, e int64) (int, int64) {
	if k != 0 {
		unixDropRights(k)
	}
	return 0, e
}

// unixAddRights adds the descriptors in fds (4 bytes each) to rights set
// k, taking one if k is 0, and a reference to each.
// Context: trap, kernel lock held; does not allocate.
func unixAddRights(k int, fds []byte) (int, int64) {
	for off := 0; off+4 <= len(fds); off += 4 {
		if k == 0 {
			if k = Usocks().NewRights(); k == 0 {
				return 0, -int64(unix.ETOOMANYREFS)
			}
		}
		set := Usocks().Rights(k)
		if set.N == fs.MaxUnixRights {
			return k, -abi.EINVAL
		}
		f := fdtab.Get(int(int32(binary.LittleEndian.Uint32(fds[off:]))))
		if f == nil {
			return k, -abi.EBADF
		}
		r := fs.Right{Kind: f.Kind}
		if f.Nonblock {
			r.Flags = 1
		}
		switch {
		case f.Kind == fdtab.KindUnix:
			r.Idx = int32(f.Socket)
			Usocks().Ref(f.Socket)
		case vfs.HasDesc(f.Kind):
			r.Idx = f.Desc
			vfs.Descs[f.Desc].Refs++
		case f.Kind != fdtab.KindConsole:
			return k, -abi.EINVAL
		}
		set.Items[set.N] = r
		set.N++
	}
	return k, 0
}

// unixReleaseRights drops the references of rights set k and frees it.
// Sockets left with no reference are closed by unixFinishDying.
// Context: trap, kernel lock held; does not allocate.
func unixReleaseRights(k int) {
	set := Usocks().Rights(k)
	for _, r := range set.Items[:set.N] {
		unixReleaseOne(r)
	}
	Usocks().FreeRights(k)
}

// unixDropRights releases rights set k and closes what lost its last
// reference. Context: trap, kernel lock held; does not allocate.
func unixDropRights(k int) {
	unixReleaseRights(k)
	unixFinishDying()
}

// unixPutRights makes descriptors of rights set k and writes them as one
// SCM_RIGHTS message into the control buffer (ctl, n); those that do not
// fit (or find no free descriptor) are dropped. It returns the control
// bytes used and whether some were dropped (MSG_CTRUNC).
// Context: trap, kernel lock held; does not allocate.
func unixPutRights(k int, ctl, n uintptr, cloexec bool) (uintptr, bool) {
	set := Usocks().Rights(k)
	fit := 0
	if ctl != 0 && n > cmsgHdrSize {
		fit = int(min((n-cmsgHdrSize)/4, fs.MaxUnixRights))
	}
	var fds [fs.MaxUnixRights]int32
	got := 0
	for got < set.N && got < fit {
		fd := unixInstall(set.Items[got], cloexec)
		if fd < 0 {
			break
		}
		fds[got] = int32(fd)
		got++
	}
	trunc := got < set.N
	for _, r := range set.Items[got:set.N] {
		unixReleaseOne(r)
	}
	Usocks().FreeRights(k)
	unixFinishDying()
	if got == 0 {
		return 0, trunc
	}
	var hdr [cmsgHdrSize + 4*fs.MaxUnixRights]byte
	clen := cmsgHdrSize + 4*got
	binary.LittleEndian.PutUint64(hdr[0:], uint64(clen))
	binary.LittleEndian.PutUint32(hdr[8:], unix.SOL_SOCKET)
	binary.LittleEndian.PutUint32(hdr[12:], unix.SCM_RIGHTS)
	for j := range got {
		binary.LittleEndian.PutUint32(hdr[cmsgHdrSize+4*j:], uint32(fds[j]))
	}
	if b, ok := vm.UserBytes(ctl, uintptr(clen), true); ok {
		copy(b, hdr[:clen])
	}
	return min(uintptr(clen+7)&^7, n), trunc
}

// unixPutCreds writes an SCM_CREDENTIALS message (this program: pid 1,
// root) into the control buffer (ctl, n), as Linux does for a socket with
// SO_PASSCRED; it returns the bytes used, 0 when it does not fit.
// Context: trap, kernel lock held; does not allocate.
func unixPutCreds(ctl, n uintptr) uintptr {
	const clen = cmsgHdrSize + 12 // struct ucred
	if ctl == 0 || n < clen {
		return 0
	}
	var c [clen]byte
	binary.LittleEndian.PutUint64(c[0:], clen)
	binary.LittleEndian.PutUint32(c[8:], unix.SOL_SOCKET)
	binary.LittleEndian.PutUint32(c[12:], unix.SCM_CREDENTIALS)
	binary.LittleEndian.PutUint32(c[16:], 1) // pid; uid and gid 0
	b, ok := vm.UserBytes(ctl, clen, true)
	if !ok {
		return 0
	}
	copy(b, c[:])
	return min((clen+7)&^7, n)
}

// unixReleaseOne drops the reference of one descriptor in flight.
// Context: trap, kernel lock held; does not allocate.
func unixReleaseOne(r fs.Right) {
	switch {
	case r.Kind == fdtab.KindUnix:
		Usocks().Unref(int(r.Idx))
	case vfs.HasDesc(r.Kind):
		f := fdtab.File{Kind: r.Kind, Desc: r.Idx}
		vfs.CloseDesc(&f)
	}
}

// unixInstall makes a descriptor of a received right (its reference
// passes to the descriptor), -1 when none is free.
// Context: trap, kernel lock held; does not allocate.
func unixInstall(r fs.Right, cloexec bool) int {
	flags := 0
	if cloexec {
		flags |= unix.O_CLOEXEC
	}
	if r.Flags&1 != 0 {
		flags |= unix.O_NONBLOCK
	}
	desc := int32(0)
	if vfs.HasDesc(r.Kind) {
		desc = r.Idx
	}
	fd := fdtab.AllocDesc(r.Kind, flags, desc)
	if fd < 0 {
		return -1
	}
	if r.Kind == fdtab.KindUnix {
		fdtab.Files[fd].Socket = int(r.Idx)
	}
	return fd
}

// UnixRelease is the close of a descriptor of Unix socket i.
// Context: trap, kernel lock held; does not allocate.
func UnixRelease(i int) {
	Usocks().Unref(i)
	unixFinishDying()
}

// unixFinishDying closes every socket left without a reference: what
// its queue holds is released (which may leave further sockets without
// one), then the socket goes and its peer is told.
// Context: trap, kernel lock held; does not allocate.
func unixFinishDying() {
	for j := Usocks().Dying(); j >= 0; j = Usocks().Dying() {
		for k := Usocks().QueuedRights(j); k != 0; k = Usocks().QueuedRights(j) {
			unixReleaseRights(k)
		}
		for e := Usocks().PopEmbryo(j); e >= 0; e = Usocks().PopEmbryo(j) {
			Usocks().Unref(e)
		}
		m := vfs.Mem()
		peer, ino := Usocks().Close(&m, j)
		if ino != 0 {
			vfs.Root.Drop(&m, ino)
		}
		vfs.Done(&m)
		vfs.WakeKey(UnixKey(j))
		if peer >= 0 {
			UnixNotify(peer)
		}
	}
}

// UnixNotify tells the epoll instances watching descriptors of socket i,
// and the threads waiting on it, that it changed.
// Context: trap, kernel lock held; does not allocate.
func UnixNotify(i int) {
	for fd := range fdtab.Files {
		if fdtab.Files[fd].Kind == fdtab.KindUnix && fdtab.Files[fd].Socket == i {
			fdtab.Files[fd].Seq++
			fdtab.Notify(fd)
		}
	}
	vfs.WakeKey(UnixKey(i))
}

// unixNotifyAround is unixNotify of i, its peer and every socket that
// sends to i. Context: trap, kernel lock held; does not allocate.
func unixNotifyAround(i int) {
	UnixNotify(i)
	for j := range fs.MaxUnixSockets {
		if j != i && (Usocks().ConnectedTo(i, j) || Usocks().Peer(i) == j) {
			UnixNotify(j)
		}
	}
}

// unixSetsockopt is setsockopt(2) on a Unix socket: SOL_SOCKET only
// (EOPNOTSUPP for another level, as Linux). SO_PASSCRED, SO_SNDBUF and
// SO_RCVBUF are kept; the generic options are accepted.
// Context: trap, kernel lock held; does not allocate.
func unixSetsockopt(i, level, name int, val, n uintptr) int64 {
	if level != unix.SOL_SOCKET {
		return -abi.EOPNOTSUPP
	}
	switch name {
	case unix.SO_LINGER, unix.SO_RCVTIMEO, unix.SO_SNDTIMEO:
		return 0
	case unix.SO_PASSCRED, unix.SO_SNDBUF, unix.SO_RCVBUF, unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE,
		unix.SO_REUSEADDR, unix.SO_REUSEPORT, unix.SO_KEEPALIVE, unix.SO_BROADCAST, unix.SO_OOBINLINE,
		unix.SO_PASSSEC, unix.SO_RCVLOWAT, unix.SO_SNDLOWAT, unix.SO_PRIORITY:
	default:
		return -abi.ENOPROTOOPT
	}
	if n < 4 {
		return -abi.EINVAL
	}
	v, ok := vm.UserRead32(val)
	if !ok {
		return -abi.EFAULT
	}
	switch name {
	case unix.SO_PASSCRED:
		Usocks().SetPasscred(i, v != 0)
	case unix.SO_SNDBUF, unix.SO_SNDBUFFORCE:
		Usocks().SetBuf(i, true, int(int32(v)))
	case unix.SO_RCVBUF, unix.SO_RCVBUFFORCE:
		Usocks().SetBuf(i, false, int(int32(v)))
	}
	return 0
}

// unixGetsockopt is getsockopt(2) on a Unix socket.
// Context: trap, kernel lock held; does not allocate.
func unixGetsockopt(i, level, name int, val, lenAddr uintptr) int64 {
	if level != unix.SOL_SOCKET {
		return -abi.EOPNOTSUPP
	}
	var b [12]byte
	size := 4
	var v uint32
	switch name {
	case unix.SO_TYPE:
		v = uint32(Usocks().Type(i))
	case unix.SO_DOMAIN:
		v = unix.AF_UNIX
	case unix.SO_PROTOCOL, unix.SO_REUSEADDR, unix.SO_KEEPALIVE, unix.SO_BROADCAST:
	case unix.SO_ACCEPTCONN:
		if Usocks().Listening(i) {
			v = 1
		}
	case unix.SO_ERROR:
		v = uint32(Usocks().TakeError(i))
	case unix.SO_SNDBUF:
		v = uint32(Usocks().Buf(i, true))
	case unix.SO_RCVBUF:
		v = uint32(Usocks().Buf(i, false))
	case unix.SO_PASSCRED:
		if Usocks().Passcred(i) {
			v = 1
		}
	case unix.SO_PEERCRED:
		size = 12 // struct ucred: this program (pid 1) as root; nobody without a peer
		pid, id := uint32(1), uint32(0)
		if _, e := Usocks().PeerName(i); e != 0 && !Usocks().Listening(i) {
			pid, id = 0, 65534
		}
		binary.LittleEndian.PutUint32(b[0:], pid)
		binary.LittleEndian.PutUint32(b[4:], id)
		binary.LittleEndian.PutUint32(b[8:], id)
	default:
		return -abi.ENOPROTOOPT
	}
	if size == 4 {
		binary.LittleEndian.PutUint32(b[:], v)
	}
	return putTruncated(b[:size], val, lenAddr, false)
}
