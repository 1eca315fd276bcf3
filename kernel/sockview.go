package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/socket"
)

// writeSocketView lists the socket table for /proc/gometal/sockets: one
// line per socket, then the drop counters. Context: trap, kernel lock
// held; does not allocate.
func writeSocketView(w textWriter) {
	w.s("slot type state fd local remote rx tx accept_queue dirty\n")
	for i := range socket.Sockets {
		s := &socket.Sockets[i]
		if s.Typ == 0 {
			continue
		}
		w.u(uint64(i)).s(" ")
		w.s(sockTypeNames[s.Typ])
		if s.Family == abi.Family6 {
			w.s("6 ")
		} else {
			w.s(" ")
		}
		w.s(sockStateNames[s.State]).s(" ")
		if s.FD < 0 {
			w.s("- ")
		} else {
			w.u(uint64(s.FD)).s(" ")
		}
		writeSockAddr(w, s.Local)
		w.s(" ")
		writeSockAddr(w, s.Remote)
		w.s(" ").u(uint64(s.Rx.N)).s(" ").u(uint64(s.Tx.N)).s(" ").u(uint64(s.ALen))
		if s.Dirty {
			w.s(" yes\n")
		} else {
			w.s(" no\n")
		}
	}
	w.s("\ndatagrams_dropped ").u(socket.NetDropped).s("\nconnections_refused ").u(socket.NetRejected).s("\n")
}

var (
	sockStateNames = [...]string{"-", "open", "listening", "connecting", "connected", "failed", "closed"}
	sockTypeNames  = [...]string{"-", "tcp", "udp", "raw"}
)

// writeSockAddr writes a as IP:port: a dotted quad for an IPv4 address,
// [hex groups] for IPv6. Context: trap, kernel lock held; does not allocate.
func writeSockAddr(w textWriter, a socket.SockAddr) {
	if a.Is4() {
		writeSockAddrIP(w, a.V4())
	} else {
		w.s("[")
		for k := 0; k < 16; k += 2 {
			if k > 0 {
				w.s(":")
			}
			writeHex16(w, uint16(a.IP[k])<<8|uint16(a.IP[k+1]))
		}
		w.s("]")
	}
	w.s(":").u(uint64(a.Port))
}

// writeHex16 writes v in hex without leading zeros. Context: trap, kernel
// lock held; does not allocate.
func writeHex16(w textWriter, v uint16) {
	const digits = "0123456789abcdef"
	started := false
	for shift := 12; shift >= 0; shift -= 4 {
		d := v >> shift & 0xf
		if d != 0 || started || shift == 0 {
			started = true
			w.s(digits[d : d+1])
		}
	}
}

// writeSockAddrIP writes ip as a dotted quad. Context: trap, kernel lock held; does not allocate.
func writeSockAddrIP(w textWriter, ip [4]byte) {
	w.u(uint64(ip[0])).s(".").u(uint64(ip[1])).s(".").u(uint64(ip[2])).s(".").u(uint64(ip[3]))
}
