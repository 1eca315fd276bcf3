package kfiles

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/socket"
)

// writeSocketView lists the socket table for /proc/gometal/sockets: one
// line per socket, then the drop counters. Context: trap, kernel lock
// held; does not allocate.
func writeSocketView(w Writer) {
	w.S("slot type state fd local remote rx tx accept_queue dirty\n")
	for i := range socket.Sockets {
		s := &socket.Sockets[i]
		if s.Typ == 0 {
			continue
		}
		w.U(uint64(i)).S(" ")
		w.S(sockTypeNames[s.Typ])
		if s.Family == abi.Family6 {
			w.S("6 ")
		} else {
			w.S(" ")
		}
		w.S(sockStateNames[s.State]).S(" ")
		if s.FD < 0 {
			w.S("- ")
		} else {
			w.U(uint64(s.FD)).S(" ")
		}
		writeSockAddr(w, s.Local)
		w.S(" ")
		writeSockAddr(w, s.Remote)
		w.S(" ").Fields(uint64(s.Rx.N), uint64(s.Tx.N)).U(uint64(s.ALen))
		if s.Dirty != 0 {
			w.S(" yes\n")
		} else {
			w.S(" no\n")
		}
	}
	w.S("\ndatagrams_dropped ").U(socket.NetDropped).S("\nconnections_refused ").U(socket.NetRejected).S("\n")
}

var (
	sockStateNames = [...]string{"-", "open", "listening", "connecting", "connected", "failed", "closed"}
	sockTypeNames  = [...]string{"-", "tcp", "udp", "raw"}
)

// writeSockAddr writes a as IP:port: a dotted quad for an IPv4 address,
// [hex groups] for IPv6. Context: trap, kernel lock held; does not allocate.
func writeSockAddr(w Writer, a socket.SockAddr) {
	if a.Is4() {
		WriteIPv4(w, a.V4())
	} else {
		w.S("[")
		for k := 0; k < 16; k += 2 {
			if k > 0 {
				w.S(":")
			}
			writeHex16(w, uint16(a.IP[k])<<8|uint16(a.IP[k+1]))
		}
		w.S("]")
	}
	w.S(":").U(uint64(a.Port))
}

// writeHex16 writes v in hex without leading zeros. Context: trap, kernel
// lock held; does not allocate.
func writeHex16(w Writer, v uint16) {
	const digits = "0123456789abcdef"
	started := false
	for shift := 12; shift >= 0; shift -= 4 {
		d := v >> shift & 0xf
		if d != 0 || started || shift == 0 {
			started = true
			w.S(digits[d : d+1])
		}
	}
}
