package rtnl

import (
	"encoding/binary"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var testLinks = []Link{
	{Index: 1, Name: "lo", Type: unix.ARPHRD_LOOPBACK, Flags: unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING,
		MTU: 65536, Addr: [4]byte{127, 0, 0, 1}, Prefix: 8, Scope: unix.RT_SCOPE_HOST,
		Addr6: [16]byte{15: 1}, Prefix6: 128, Scope6: unix.RT_SCOPE_HOST},
	{Index: 2, Name: "eth0", Type: unix.ARPHRD_ETHER, Flags: unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_RUNNING | unix.IFF_MULTICAST,
		MTU: 1500, MAC: [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}, Bcast: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		Addr: [4]byte{10, 0, 2, 15}, Prefix: 24},
}

// request builds the request syscall.NetlinkRIB sends.
func request(typ uint16, seq uint32, family byte) []byte {
	b := make([]byte, 17)
	binary.LittleEndian.PutUint32(b, 17)
	binary.LittleEndian.PutUint16(b[4:], typ)
	binary.LittleEndian.PutUint16(b[6:], unix.NLM_F_DUMP|unix.NLM_F_REQUEST)
	binary.LittleEndian.PutUint32(b[8:], seq)
	b[16] = family
	return b
}

func answer(t *testing.T, req []byte) []syscall.NetlinkMessage {
	buf := make([]byte, 4096)
	n, e := Answer(buf, req, 77, testLinks)
	require.Zero(t, e)
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	require.NoError(t, err)
	for _, m := range msgs {
		assert.Equal(t, uint32(1), m.Header.Seq)
		assert.Equal(t, uint32(77), m.Header.Pid, "the socket's port id, which NetlinkRIB checks")
	}
	require.NotEmpty(t, msgs)
	assert.Equal(t, uint16(unix.NLMSG_DONE), msgs[len(msgs)-1].Header.Type)
	return msgs[:len(msgs)-1]
}

func TestLinks(t *testing.T) {
	msgs := answer(t, request(unix.RTM_GETLINK, 1, unix.AF_UNSPEC))
	require.Len(t, msgs, 2)
	for k, m := range msgs {
		assert.Equal(t, uint16(unix.RTM_NEWLINK), m.Header.Type)
		ifim := (*syscall.IfInfomsg)(unsafePointer(m.Data))
		assert.Equal(t, testLinks[k].Index, ifim.Index)
		assert.Equal(t, uint32(testLinks[k].Flags), ifim.Flags)
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		require.NoError(t, err)
		got := map[uint16][]byte{}
		for _, a := range attrs {
			got[a.Attr.Type] = a.Value
		}
		assert.Equal(t, testLinks[k].Name+"\x00", string(got[unix.IFLA_IFNAME]))
		assert.Equal(t, testLinks[k].MTU, binary.LittleEndian.Uint32(got[unix.IFLA_MTU]))
		assert.Equal(t, testLinks[k].MAC[:], got[unix.IFLA_ADDRESS])
	}
}

func TestAddrs(t *testing.T) {
	msgs := answer(t, request(unix.RTM_GETADDR, 1, unix.AF_UNSPEC))
	require.Len(t, msgs, 3, "two IPv4 addresses, then lo's IPv6 address")
	m := msgs[1]
	assert.Equal(t, uint16(unix.RTM_NEWADDR), m.Header.Type)
	ifam := (*syscall.IfAddrmsg)(unsafePointer(m.Data))
	assert.Equal(t, uint8(unix.AF_INET), ifam.Family)
	assert.Equal(t, uint8(24), ifam.Prefixlen)
	assert.Equal(t, uint32(2), ifam.Index)
	attrs, err := syscall.ParseNetlinkRouteAttr(&m)
	require.NoError(t, err)
	got := map[uint16][]byte{}
	for _, a := range attrs {
		got[a.Attr.Type] = a.Value
	}
	assert.Equal(t, []byte{10, 0, 2, 15}, got[unix.IFA_LOCAL])
	assert.Equal(t, []byte{10, 0, 2, 255}, got[unix.IFA_BROADCAST])
	assert.Len(t, answer(t, request(unix.RTM_GETADDR, 1, unix.AF_INET)), 2, "the IPv4 addresses alone")
}

func TestAddrs6(t *testing.T) {
	msgs := answer(t, request(unix.RTM_GETADDR, 1, unix.AF_INET6))
	require.Len(t, msgs, 1, "lo's ::1 alone")
	ifam := (*syscall.IfAddrmsg)(unsafePointer(msgs[0].Data))
	assert.Equal(t, uint8(unix.AF_INET6), ifam.Family)
	assert.Equal(t, uint8(128), ifam.Prefixlen)
	assert.Equal(t, uint8(unix.RT_SCOPE_HOST), ifam.Scope)
	assert.Equal(t, uint32(1), ifam.Index)
	attrs, err := syscall.ParseNetlinkRouteAttr(&msgs[0])
	require.NoError(t, err)
	got := map[uint16][]byte{}
	for _, a := range attrs {
		got[a.Attr.Type] = a.Value
	}
	assert.Equal(t, append(make([]byte, 15), 1), got[unix.IFA_ADDRESS])
	assert.NotContains(t, got, uint16(unix.IFA_LOCAL), "Go reads IFA_LOCAL as a point-to-point link's")
}

func TestOtherRequests(t *testing.T) {
	buf := make([]byte, 4096)
	req := request(unix.RTM_GETROUTE, 1, unix.AF_UNSPEC)
	n, e := Answer(buf, req, 5, testLinks)
	require.Zero(t, e)
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, uint16(unix.NLMSG_ERROR), msgs[0].Header.Type)
	assert.Equal(t, -int32(unix.EOPNOTSUPP), int32(binary.LittleEndian.Uint32(msgs[0].Data)))
	_, e = Answer(buf, req[:10], 5, testLinks)
	assert.Equal(t, unix.EINVAL, e)
	_, e = Answer(buf[:40], request(unix.RTM_GETLINK, 1, 0), 5, testLinks)
	assert.Equal(t, unix.ENOBUFS, e)
}
