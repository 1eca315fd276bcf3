package kfiles

import (
	"github.com/gometal/gometal/kernel/socket"
)

// The socket table of /proc/gometal/sockets, which fillMemFile writes
// (one line per socket, then the drop counters): the names of its types
// and states, and its addresses.
var (
	sockStateNames = [...]string{"-", "open", "listening", "connecting", "connected", "failed", "closed"}
	sockTypeNames  = [...]string{"-", "tcp", "udp", "raw"}
)

// writeSockAddr writes a as IP:port: a dotted quad for an IPv4 address,
// [hex groups] for IPv6, each group's hex digits without leading zeros.
// Context: trap, kernel lock held; does not allocate.
func writeSockAddr(w Writer, a socket.SockAddr) {
	if a.Is4() {
		WriteIPv4(w, a.V4())
	} else {
		const digits = "0123456789abcdef"
		w.S("[")
		for k := 0; k < 16; k += 2 {
			if k > 0 {
				w.S(":")
			}
			v := uint16(a.IP[k])<<8 | uint16(a.IP[k+1])
			started := false
			for shift := 12; shift >= 0; shift -= 4 {
				d := v >> shift & 0xf
				if d != 0 || started || shift == 0 {
					started = true
					w.S(digits[d : d+1])
				}
			}
		}
		w.S("]")
	}
	w.S(":").U(uint64(a.Port))
}
