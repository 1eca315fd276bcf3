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
// instances, eventfds, kernel files) or more than fs.MaxUnixRights,
// ETOOMANYREFS when no rights set is free; on an error the set taken so
// far is dropped.
// Context: trap, kernel lock held; does not allocate.
func unixTakeRights(ctl, n uintptr) (int, int64) {
	if ctl == 0 || n < cmsgHdrSize {
		return 0, 0
	}
	b, ok := vm.UserBytes(ctl, min(n, 1<<16), false)
	if !ok {
		return 0, -abi.EFAULT
	}
	le := binary.LittleEndian
	k, e := 0, int64(0) // the set, taken at the first descriptor
	for off := 0; e == 0 && off+cmsgHdrSize <= len(b); {
		clen := int(le.Uint64(b[off:]))
		level := int32(le.Uint32(b[off+8:]))
		typ := int32(le.Uint32(b[off+12:]))
		fdsEnd := 0 // the end of SCM_RIGHTS's descriptors (4 bytes each); none in another message
		switch {
		case clen < cmsgHdrSize || clen > len(b)-off:
			e = -abi.EINVAL
		case level != unix.SOL_SOCKET, typ == unix.SCM_CREDENTIALS:
		case typ != unix.SCM_RIGHTS:
			e = -abi.EINVAL
		default:
			fdsEnd = off + clen
		}
		for at := off + cmsgHdrSize; e == 0 && at+4 <= fdsEnd; at += 4 {
			if k == 0 {
				if k = Usocks().NewRights(); k == 0 {
					e = -int64(unix.ETOOMANYREFS)
					break
				}
			}
			set := Usocks().Rights(k)
			f := fdtab.Get(int(int32(le.Uint32(b[at:]))))
			var r fs.Right
			switch {
			case set.N == fs.MaxUnixRights:
				e = -abi.EINVAL
			case f == nil:
				e = -abi.EBADF
			case f.Kind == fdtab.KindUnix:
				r.Idx = int32(f.Socket)
				Usocks().Ref(f.Socket)
			case vfs.HasDesc(f.Kind):
				r.Idx = f.Desc
				vfs.Descs[f.Desc].Refs++
			case f.Kind != fdtab.KindConsole:
				e = -abi.EINVAL
			}
			if e != 0 {
				break
			}
			r.Kind = f.Kind
			if f.Nonblock {
				r.Flags = 1
			}
			set.Items[set.N] = r
			set.N++
		}
		off += (clen + 7) &^ 7
	}
	if e != 0 {
		if k != 0 {
			unixFinishDying(k)
		}
		return 0, e
	}
	return k, 0
}

// unixReleaseRights drops the references of rights set k and frees it.
// Sockets left with no reference are closed by unixFinishDying.
// Context: trap, kernel lock held; does not allocate.
func unixReleaseRights(k int) {
	set := Usocks().Rights(k)
	for _, r := range set.Items[:set.N] {
		switch {
		case r.Kind == fdtab.KindUnix:
			Usocks().Unref(int(r.Idx))
		case vfs.HasDesc(r.Kind):
			f := fdtab.File{Kind: r.Kind, Desc: r.Idx}
			vfs.CloseDesc(&f)
		}
	}
	Usocks().FreeRights(k)
}

// unixPutRights makes descriptors of rights set k (each right's
// reference passes to its descriptor) and writes them as one
// SCM_RIGHTS message into the control buffer (ctl, n); those that do not
// fit (or find no free descriptor) are dropped, and the set with them.
// It returns the control bytes used and whether some were dropped
// (MSG_CTRUNC).
// Context: trap, kernel lock held; does not allocate.
func unixPutRights(k int, ctl, n uintptr, cloexec bool) (uintptr, bool) {
	set := Usocks().Rights(k)
	fit := 0
	if ctl != 0 && n > cmsgHdrSize {
		fit = int(min((n-cmsgHdrSize)/4, fs.MaxUnixRights))
	}
	le := binary.LittleEndian
	var hdr [cmsgHdrSize + 4*fs.MaxUnixRights]byte
	got := 0
	for ; got < set.N && got < fit; got++ {
		r := set.Items[got]
		flags, desc := 0, int32(0)
		if cloexec {
			flags |= unix.O_CLOEXEC
		}
		if r.Flags&1 != 0 {
			flags |= unix.O_NONBLOCK
		}
		if vfs.HasDesc(r.Kind) {
			desc = r.Idx
		}
		fd := fdtab.AllocDesc(r.Kind, flags, desc)
		if fd < 0 {
			break
		}
		if r.Kind == fdtab.KindUnix {
			fdtab.Files[fd].Socket = int(r.Idx)
		}
		le.PutUint32(hdr[cmsgHdrSize+4*got:], uint32(fd))
		set.Items[got] = fs.Right{} // the descriptor holds its reference now
	}
	trunc := got < set.N
	unixFinishDying(k)
	if got == 0 {
		return 0, trunc
	}
	clen := cmsgHdrSize + 4*got
	le.PutUint64(hdr[0:], uint64(clen))
	le.PutUint32(hdr[8:], unix.SOL_SOCKET)
	le.PutUint32(hdr[12:], unix.SCM_RIGHTS)
	if b, ok := vm.UserBytes(ctl, uintptr(clen), true); ok {
		copy(b, hdr[:clen])
	}
	return min(uintptr(clen+7)&^7, n), trunc
}

// UnixRelease is the close of a descriptor of Unix socket i.
// Context: trap, kernel lock held; does not allocate.
func UnixRelease(i int) {
	Usocks().Unref(i)
	unixFinishDying(0)
}

// unixFinishDying releases rights set rights (none when 0) and then
// closes every socket left without a reference: what its queue holds is
// released (which may leave further sockets without one), then the
// socket goes and its peer is told.
// Context: trap, kernel lock held; does not allocate.
func unixFinishDying(rights int) {
	if rights != 0 {
		unixReleaseRights(rights)
	}
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

// unixSockopt is setsockopt(2) (set) or getsockopt(2) on a Unix
// socket: SOL_SOCKET only (EOPNOTSUPP for another level, as Linux).
// SO_PASSCRED, SO_SNDBUF and SO_RCVBUF are kept; the generic options
// are accepted. n is setsockopt's length, getsockopt's length's address.
// Context: trap, kernel lock held; does not allocate.
func unixSockopt(i int, set bool, level, name int, val, n uintptr) int64 {
	if level != unix.SOL_SOCKET {
		return -abi.EOPNOTSUPP
	}
	if set {
		bit := uint64(1) << uint(name) // 0 for a number out of the masks' range
		switch {
		case bit&unixOptsIgnored != 0:
			return 0
		case bit&unixOptsTaken == 0:
			return -abi.ENOPROTOOPT
		case n < 4:
			return -abi.EINVAL
		}
		v, ok := vm.UserRead32(val)
		if !ok {
			return -abi.EFAULT
		}
		switch name {
		case unix.SO_PASSCRED:
			Usocks().SetPasscred(i, v != 0)
		case unix.SO_SNDBUF, unix.SO_SNDBUFFORCE, unix.SO_RCVBUF, unix.SO_RCVBUFFORCE:
			Usocks().SetBuf(i, name == unix.SO_SNDBUF || name == unix.SO_SNDBUFFORCE, int(int32(v)))
		}
		return 0
	}
	var b [12]byte
	size := 4
	var v uint32
	// A switch without a tag: one of constant cases would be compiled
	// as a jump table, 304 bytes of the image's read-only data.
	switch {
	case name == unix.SO_TYPE:
		v = uint32(Usocks().Type(i))
	case name == unix.SO_DOMAIN:
		v = unix.AF_UNIX
	case name == unix.SO_PROTOCOL, name == unix.SO_REUSEADDR, name == unix.SO_KEEPALIVE, name == unix.SO_BROADCAST:
	case name == unix.SO_ACCEPTCONN:
		if Usocks().Listening(i) {
			v = 1
		}
	case name == unix.SO_ERROR:
		v = uint32(Usocks().TakeError(i))
	case name == unix.SO_SNDBUF, name == unix.SO_RCVBUF:
		v = uint32(Usocks().Buf(i, name == unix.SO_SNDBUF))
	case name == unix.SO_PASSCRED:
		if Usocks().Passcred(i) {
			v = 1
		}
	case name == unix.SO_PEERCRED:
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
	return putTruncated(b[:size], val, n, false)
}

// unixOptsIgnored are the options setsockopt takes on a Unix socket
// without a look at their value, and unixOptsTaken those whose value it
// reads (SO_PASSCRED and the buffer sizes kept, the rest accepted): a
// bit per option number.
const (
	unixOptsIgnored = 1<<unix.SO_LINGER | 1<<unix.SO_RCVTIMEO | 1<<unix.SO_SNDTIMEO
	unixOptsTaken   = 1<<unix.SO_PASSCRED | 1<<unix.SO_SNDBUF | 1<<unix.SO_RCVBUF | 1<<unix.SO_SNDBUFFORCE | 1<<unix.SO_RCVBUFFORCE |
		1<<unix.SO_REUSEADDR | 1<<unix.SO_REUSEPORT | 1<<unix.SO_KEEPALIVE | 1<<unix.SO_BROADCAST | 1<<unix.SO_OOBINLINE |
		1<<unix.SO_PASSSEC | 1<<unix.SO_RCVLOWAT | 1<<unix.SO_SNDLOWAT | 1<<unix.SO_PRIORITY
)
