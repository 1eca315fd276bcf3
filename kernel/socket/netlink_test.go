package socket

import (
	"encoding/binary"
	"testing"

	"github.com/gometal/gometal/kernel/rtnl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestNetlinkAnswersFit: a netlink socket's buffer (netlinkBuf) holds the
// largest answer the kernel gives, the dumps of both interfaces' links
// and addresses, IPv6 included, with room to spare; an answer that did
// not fit would be ENOBUFS for the program (net.Interfaces would fail).
func TestNetlinkAnswersFit(t *testing.T) {
	nic, mac, addr, prefix, mtu := ifaceNIC, ifaceMAC, ifaceAddr, ifacePrefix, ifaceMTU
	t.Cleanup(func() { ifaceNIC, ifaceMAC, ifaceAddr, ifacePrefix, ifaceMTU = nic, mac, addr, prefix, mtu })
	ifaceNIC, ifaceMAC, ifaceAddr, ifacePrefix, ifaceMTU = true, [6]byte{2, 0, 0, 0, 0, 1}, [4]byte{10, 0, 2, 15}, 24, 1500
	var links [2]rtnl.Link
	require.Equal(t, 2, ifaceLinks(&links))
	for _, typ := range []uint16{unix.RTM_GETLINK, unix.RTM_GETADDR} {
		var req [17]byte // nlmsghdr and a struct rtgenmsg of AF_UNSPEC
		binary.LittleEndian.PutUint32(req[0:], uint32(len(req)))
		binary.LittleEndian.PutUint16(req[4:], typ)
		binary.LittleEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		var buf [netlinkBuf]byte
		n, e := rtnl.Answer(buf[:], req[:], 1, links[:])
		require.Zero(t, e, "request type %d", typ)
		t.Logf("request type %d: a %d-byte answer", typ, n)
		assert.LessOrEqual(t, 2*n, netlinkBuf, "request type %d: the answer fills more than half the buffer", typ)
	}
}
