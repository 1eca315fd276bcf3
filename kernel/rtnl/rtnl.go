// Package rtnl answers the route netlink (NETLINK_ROUTE) requests that
// Go's package net makes to list the interfaces and their addresses
// (syscall.NetlinkRIB with RTM_GETLINK and RTM_GETADDR dumps): it writes
// Linux's messages for a list of interfaces into a buffer. The kernel
// keeps the sockets and supplies the interfaces. Context (every function
// here): trap, kernel lock held; none allocates.
package rtnl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Link is one interface as the kernel describes it.
type Link struct {
	Index  int32
	Name   string
	Type   uint16 // ARPHRD_*
	Flags  uint32 // IFF_*
	MTU    uint32
	MAC    [6]byte
	Bcast  [6]byte
	Addr   [4]byte // IPv4 address, zero if none
	Prefix uint8
	Scope  uint8 // RT_SCOPE_*
	// Addr6 is the IPv6 address, zero if none, with its prefix length
	// and scope.
	Addr6   [16]byte
	Prefix6 uint8
	Scope6  uint8
}

const (
	hdrLen     = unix.NLMSG_HDRLEN // 16
	ifinfoLen  = unix.SizeofIfInfomsg
	ifaddrLen  = unix.SizeofIfAddrmsg
	nlmsgError = unix.NLMSG_ERROR
)

// align4 rounds n up to a multiple of 4 (NLMSG_ALIGN, RTA_ALIGN).
// Context: any; does not allocate.
func align4(n int) int { return (n + 3) &^ 3 }

// A writer appends messages to a buffer; ok turns false when one does not
// fit.
type writer struct {
	b   []byte
	n   int
	ok  bool
	seq uint32
	pid uint32
}

// start begins a message of type typ and returns its offset.
// Context: trap, kernel lock held; does not allocate.
func (w *writer) start(typ, flags uint16) int {
	at := w.n
	w.put(make0(hdrLen))
	if w.ok {
		le := binary.LittleEndian
		le.PutUint16(w.b[at+4:], typ)
		le.PutUint16(w.b[at+6:], flags)
		le.PutUint32(w.b[at+8:], w.seq)
		le.PutUint32(w.b[at+12:], w.pid)
	}
	return at
}

// end sets the length of the message at offset at.
// Context: trap, kernel lock held; does not allocate.
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (w *writer) end(at int) {
	if w.ok {
		binary.LittleEndian.PutUint32(w.b[at:], uint32(w.n-at))
	}
}

// zeros is a source of zero bytes for put.
var zeros [64]byte

// make0 returns n zero bytes (n at most 64).
// Context: any; does not allocate.
func make0(n int) []byte { return zeros[:n] }

// put appends p, padded to 4 bytes.
// Context: trap, kernel lock held; does not allocate. Not inlined (image
// size).
//
//go:noinline
func (w *writer) put(p []byte) {
	k := align4(len(p))
	if !w.ok || w.n+k > len(w.b) {
		w.ok = false
		return
	}
	copy(w.b[w.n:], p)
	clear(w.b[w.n+len(p) : w.n+k])
	w.n += k
}

// attr appends a route attribute of type typ holding v.
// Context: trap, kernel lock held; does not allocate.
func (w *writer) attr(typ uint16, v []byte) {
	var h [4]byte
	binary.LittleEndian.PutUint16(h[0:], uint16(4+len(v)))
	binary.LittleEndian.PutUint16(h[2:], typ)
	w.put(h[:])
	w.put(v)
}

// attrString appends a NUL-terminated string attribute.
// Context: trap, kernel lock held; does not allocate.
func (w *writer) attrString(typ uint16, s string) {
	var b [unix.IFNAMSIZ + 1]byte
	n := copy(b[:unix.IFNAMSIZ], s)
	w.attr(typ, b[:n+1])
}

// attr32 appends a 32-bit attribute.
// Context: trap, kernel lock held; does not allocate.
func (w *writer) attr32(typ uint16, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.attr(typ, b[:])
}

// Answer writes into dst the reply to the netlink request req from the
// socket with port id pid, for the interfaces links: a dump of links
// (RTM_GETLINK) or addresses (RTM_GETADDR: IPv4, then IPv6, as Linux
// orders them; the request's family picks one) and NLMSG_DONE, or an
// NLMSG_ERROR with EOPNOTSUPP for another request. It returns the reply's
// length, or the errno for a malformed request (EINVAL) or a reply that
// does not fit dst (ENOBUFS).
// Context: trap, kernel lock held; does not allocate.
func Answer(dst, req []byte, pid uint32, links []Link) (int, unix.Errno) {
	if len(req) < hdrLen {
		return 0, unix.EINVAL
	}
	le := binary.LittleEndian
	n := int(le.Uint32(req))
	if n < hdrLen || n > len(req) {
		return 0, unix.EINVAL
	}
	typ, flags := le.Uint16(req[4:]), le.Uint16(req[6:])
	w := writer{b: dst, ok: true, seq: le.Uint32(req[8:]), pid: pid}
	family := byte(unix.AF_UNSPEC)
	if n > hdrLen {
		family = req[hdrLen]
	}
	switch {
	case typ == unix.RTM_GETLINK && flags&unix.NLM_F_DUMP == unix.NLM_F_DUMP:
		for k := range links {
			// an RTM_NEWLINK message
			l := &links[k]
			at := w.start(unix.RTM_NEWLINK, unix.NLM_F_MULTI)
			var m [ifinfoLen]byte
			le.PutUint16(m[2:], l.Type)
			le.PutUint32(m[4:], uint32(l.Index))
			le.PutUint32(m[8:], l.Flags)
			w.put(m[:])
			w.attrString(unix.IFLA_IFNAME, l.Name)
			w.attr32(unix.IFLA_MTU, l.MTU)
			w.attr(unix.IFLA_ADDRESS, l.MAC[:])
			w.attr(unix.IFLA_BROADCAST, l.Bcast[:])
			w.end(at)
		}
	case typ == unix.RTM_GETADDR && flags&unix.NLM_F_DUMP == unix.NLM_F_DUMP:
		// An RTM_NEWADDR message for each IPv4 address (IFA_ADDRESS,
		// IFA_LOCAL, IFA_BROADCAST on a broadcast link with a prefix
		// under 31, IFA_LABEL), then for each IPv6 address as Linux
		// sends that: the address in IFA_ADDRESS alone (IFA_LOCAL is
		// for point-to-point links) and IFA_FLAGS.
		for k := range 2 * len(links) {
			v6, i := k >= len(links), k
			if v6 {
				i -= len(links)
			}
			l := &links[i]
			m := [ifaddrLen]byte{unix.AF_INET, l.Prefix, unix.IFA_F_PERMANENT, l.Scope}
			a, has := l.Addr[:], l.Addr != [4]byte{}
			if v6 {
				m[0], m[1], m[3], a, has = unix.AF_INET6, l.Prefix6, l.Scope6, l.Addr6[:], l.Addr6 != [16]byte{}
			}
			if !has || (family != unix.AF_UNSPEC && family != m[0]) {
				continue
			}
			at := w.start(unix.RTM_NEWADDR, unix.NLM_F_MULTI)
			le.PutUint32(m[4:], uint32(l.Index))
			w.put(m[:])
			w.attr(unix.IFA_ADDRESS, a)
			if v6 {
				w.attr32(unix.IFA_FLAGS, unix.IFA_F_PERMANENT)
			} else {
				w.attr(unix.IFA_LOCAL, a)
				if l.Flags&unix.IFF_BROADCAST != 0 && l.Prefix < 31 {
					b := l.Addr
					host := uint32(1)<<(32-l.Prefix) - 1
					binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(b[:])|host)
					w.attr(unix.IFA_BROADCAST, b[:])
				}
				w.attrString(unix.IFA_LABEL, l.Name)
			}
			w.end(at)
		}
	default:
		at := w.start(nlmsgError, 0)
		var e [4]byte
		le.PutUint32(e[:], ^uint32(unix.EOPNOTSUPP)+1) // -EOPNOTSUPP
		w.put(e[:])
		w.put(req[:hdrLen])
		w.end(at)
		return doneOrFull(&w)
	}
	at := w.start(unix.NLMSG_DONE, unix.NLM_F_MULTI)
	w.put(make0(4))
	w.end(at)
	return doneOrFull(&w)
}

// doneOrFull returns what w wrote, or ENOBUFS if it ran out of room.
// Context: trap, kernel lock held; does not allocate.
func doneOrFull(w *writer) (int, unix.Errno) {
	if !w.ok {
		return 0, unix.ENOBUFS
	}
	return w.n, 0
}
