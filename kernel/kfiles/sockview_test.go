package kfiles

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/stretchr/testify/assert"
)

// TestSocketView: /proc/gometal/sockets lists each used slot with its
// type, state, descriptor, addresses (dotted quad for IPv4, hex groups
// without leading zeros for IPv6) and ring fill, skips free slots, and
// ends with the drop counters.
func TestSocketView(t *testing.T) {
	saved := socket.Sockets
	t.Cleanup(func() { socket.Sockets = saved })
	for i := range socket.Sockets {
		socket.Sockets[i].Typ = 0
	}
	v4 := socket.SockAddr{IP: [16]byte{10: 0xff, 11: 0xff, 12: 10, 13: 0, 14: 2, 15: 15}, Port: 8080}
	socket.Sockets[1].Typ, socket.Sockets[1].Family, socket.Sockets[1].State = abi.SockStream, abi.Family4, abi.SockConnected
	socket.Sockets[1].FD, socket.Sockets[1].Local, socket.Sockets[1].Dirty = 5, v4, 1
	socket.Sockets[3].Typ, socket.Sockets[3].Family, socket.Sockets[3].State = abi.SockDgram, abi.Family6, abi.SockConnected
	socket.Sockets[3].FD = -1
	socket.Sockets[3].Remote = socket.SockAddr{IP: [16]byte{0: 0xfe, 1: 0x80, 15: 1}, Port: 53}

	var f File
	fillMemFile(fileSockets, &f)
	text := string(f.Data[:f.N])
	assert.Contains(t, text, "\n1 tcp connected 5 10.0.2.15:8080 [0:0:0:0:0:0:0:0]:0 0 0 0 yes\n")
	assert.Contains(t, text, "\n3 udp6 connected - [0:0:0:0:0:0:0:0]:0 [fe80:0:0:0:0:0:0:1]:53 0 0 0 no\n")
	assert.NotContains(t, text, "\n0 ", "a free slot is listed")
	assert.Contains(t, text, "\ndatagrams_dropped ")
}
