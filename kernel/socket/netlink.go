package socket

import (
	"encoding/binary"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/rtnl"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Route netlink sockets (AF_NETLINK, NETLINK_ROUTE), enough for package
// net's Interfaces and InterfaceAddrs: a request (sendto, sendmsg, write)
// is answered at once by kernel/rtnl from the kernel's view of the
// interfaces (the loopback interface, and the NIC the network stack
// reported); the answer waits in the socket for the next receive, which
// without one is EAGAIN (nothing else ever arrives). Context (every
// function here): trap, kernel lock held; none allocates.

const (
	maxNetlink = 8
	// netlinkBuf holds a socket's pending answer: the largest, a dump of
	// both interfaces' links or addresses, is under 200 bytes
	// (TestNetlinkAnswersFit). The buffers are static data, in every
	// image's memory floor: 8 KiB each made them 64 KiB.
	netlinkBuf   = 1024
	sockaddrNlSz = 12 // sizeof(struct sockaddr_nl)
)

type nlSock struct {
	Used bool
	pid  uint32 // port id, 0 until bound
	n    int    // bytes of the pending answer
	buf  [netlinkBuf]byte
}

var (
	NlSocks   [maxNetlink]nlSock
	nlNextPid uint32 = 1 // the first socket gets the program's pid, as on Linux
	// The NIC as the network stack reported it (NetCtlSetAddr).
	ifaceNIC    bool
	ifaceMAC    [6]byte
	ifacePrefix uint8
	ifaceMTU    uint32
)

// NetlinkCall reports whether system call nr with first argument a0 is a
// socket call on a netlink socket (or makes one).
// Context: trap, kernel lock held; does not allocate.
func NetlinkCall(nr uint64, a0 uintptr) bool {
	if nr == unix.SYS_SOCKET {
		return a0 == unix.AF_NETLINK
	}
	switch nr {
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_BIND, unix.SYS_GETSOCKNAME, unix.SYS_SETSOCKOPT,
		unix.SYS_GETSOCKOPT, unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG,
		unix.SYS_CONNECT, unix.SYS_GETPEERNAME:
		f := fdtab.Get(int(a0))
		return f != nil && f.Kind == fdtab.KindNetlink
	}
	return false
}

// NetlinkSyscall runs socket call nr on a netlink socket: socket(2)
// makes a NETLINK_ROUTE socket, bind(2) takes a struct sockaddr_nl, a
// send answers the request in its buffers (rtnl.Answer), recvmsg(2)
// reports a short buffer with MSG_TRUNC.
// Context: trap, kernel lock held; does not allocate.
func NetlinkSyscall(t sched.TID, nr uint64, a0, a1, a2, a3, a4, a5 uintptr) int64 {
	if nr == unix.SYS_SOCKET {
		typ, proto := int(a1), int(a2)
		switch typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC) {
		case unix.SOCK_RAW, unix.SOCK_DGRAM:
		default:
			return -int64(unix.ESOCKTNOSUPPORT)
		}
		if proto != unix.NETLINK_ROUTE {
			return -abi.EPROTONOSUPPORT
		}
		for k := range NlSocks {
			if !NlSocks[k].Used {
				fd := fdtab.Alloc(fdtab.KindNetlink, OpenFlags(typ))
				if fd < 0 {
					return -abi.EMFILE
				}
				NlSocks[k].Used, NlSocks[k].pid, NlSocks[k].n = true, 0, 0
				fdtab.Files[fd].Socket = k
				return int64(fd)
			}
		}
		return -abi.ENFILE
	}
	fd := int(a0)
	s := &NlSocks[fdtab.Files[fd].Socket]
	io := SockIO{T: t, Nr: nr, Buf: a1, N: a2} // write, sendto, read; the others' below
	switch nr {
	case unix.SYS_BIND:
		if a2 < sockaddrNlSz {
			return -abi.EINVAL
		}
		b, ok := vm.UserBytes(a1, sockaddrNlSz, false)
		if !ok {
			return -abi.EFAULT
		}
		if binary.LittleEndian.Uint16(b) != unix.AF_NETLINK {
			return -abi.EINVAL
		}
		pid := binary.LittleEndian.Uint32(b[4:])
		switch {
		case pid == 0:
			netlinkAutobind(s)
		case s.pid == 0:
			s.pid = pid
		case s.pid != pid:
			return -abi.EINVAL
		}
		return 0
	case unix.SYS_GETSOCKNAME:
		netlinkAutobind(s)
		return netlinkWriteAddr(s.pid, a1, a2)
	case unix.SYS_GETPEERNAME:
		return netlinkWriteAddr(0, a1, a2)
	case unix.SYS_CONNECT, unix.SYS_SETSOCKOPT:
		return 0
	case unix.SYS_GETSOCKOPT:
		return -abi.ENOPROTOOPT
	case unix.SYS_SENDMSG:
		io = SockIO{T: t, Nr: nr}
		if _, ok := ReadMsghdr(a1, &io); !ok {
			return -abi.EFAULT
		}
		fallthrough
	case unix.SYS_WRITE, unix.SYS_SENDTO:
		if e := io.Measure(); e != 0 {
			return e
		}
		var req [256]byte
		k, ok := io.Gather(0, req[:])
		if !ok {
			return -abi.EFAULT
		}
		netlinkAutobind(s)
		var links [2]rtnl.Link
		n, e := rtnl.Answer(s.buf[:], req[:k], s.pid, links[:ifaceLinks(&links)])
		if e != 0 {
			return -int64(e)
		}
		s.n = n
		return int64(io.Total)
	case unix.SYS_READ:
		return netlinkRecv(s, &io)
	case unix.SYS_RECVFROM:
		io.Flags = int(a3)
		r := netlinkRecv(s, &io)
		if r >= 0 && a4 != 0 {
			if e := netlinkWriteAddr(0, a4, a5); e != 0 {
				return e
			}
		}
		return r
	}
	// recvmsg
	msg := a1
	io = SockIO{T: t, Nr: unix.SYS_RECVMSG, Flags: int(a2)}
	m, ok := ReadMsghdr(msg, &io)
	if !ok {
		return -abi.EFAULT
	}
	full := s.n
	r := netlinkRecv(s, &io)
	if r < 0 {
		return r
	}
	if m.Name != 0 {
		if e := netlinkWriteAddr(0, m.Name, msg+8); e != 0 {
			return e
		}
	}
	var mflags uint32
	if int(io.Total) < full {
		mflags = unix.MSG_TRUNC
	}
	if !vm.UserWrite64(msg+40, 0) || !vm.UserWrite32(msg+48, mflags) {
		return -abi.EFAULT
	}
	return r
}

// netlinkAutobind gives s a port id if it has none.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func netlinkAutobind(s *nlSock) {
	if s.pid == 0 {
		s.pid = nlNextPid
		nlNextPid = 0x8000_0000 | (nlNextPid + 1)
	}
}

// netlinkWriteAddr writes a struct sockaddr_nl with port id pid as
// getsockname does. Context: trap, kernel lock held; does not allocate.
func netlinkWriteAddr(pid uint32, addr, lenAddr uintptr) int64 {
	var sa [sockaddrNlSz]byte
	binary.LittleEndian.PutUint16(sa[0:], unix.AF_NETLINK)
	binary.LittleEndian.PutUint32(sa[4:], pid)
	return putTruncated(sa[:], addr, lenAddr, true)
}

// ifaceLinks describes the interfaces into l and returns how many.
// Context: trap, kernel lock held; does not allocate.
func ifaceLinks(l *[2]rtnl.Link) int {
	l[0] = rtnl.Link{Index: 1, Name: "lo", Type: unix.ARPHRD_LOOPBACK,
		Flags: unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING | unix.IFF_LOWER_UP,
		MTU:   65536, Addr: [4]byte{127, 0, 0, 1}, Prefix: 8, Scope: unix.RT_SCOPE_HOST,
		Addr6: loopback6, Prefix6: 128, Scope6: unix.RT_SCOPE_HOST}
	if !ifaceNIC {
		return 1
	}
	l[1] = rtnl.Link{Index: 2, Name: "eth0", Type: unix.ARPHRD_ETHER,
		Flags: unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_RUNNING | unix.IFF_MULTICAST | unix.IFF_LOWER_UP,
		MTU:   ifaceMTU, MAC: ifaceMAC, Bcast: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		Addr: ifaceAddr, Prefix: ifacePrefix}
	return 2
}

// netlinkRecv reads the pending answer (EAGAIN without one); a short
// buffer loses the rest, as for a datagram.
// Context: trap, kernel lock held; does not allocate.
func netlinkRecv(s *nlSock, io *SockIO) int64 {
	if e := io.Measure(); e != 0 {
		return e
	}
	if s.n == 0 {
		return -abi.EAGAIN
	}
	k := min(int(io.Total), s.n)
	if !io.Scatter(s.buf[:k]) {
		return -abi.EFAULT
	}
	full := s.n
	if io.Flags&unix.MSG_PEEK == 0 {
		s.n = 0
	}
	if io.Flags&unix.MSG_TRUNC != 0 {
		return int64(full)
	}
	return int64(k)
}

// NetlinkReadiness is a netlink socket's epoll events.
// Context: trap, kernel lock held; does not allocate.
func NetlinkReadiness(i int) uint32 {
	if NlSocks[i].n > 0 {
		return unix.EPOLLIN | unix.EPOLLOUT
	}
	return unix.EPOLLOUT
}
