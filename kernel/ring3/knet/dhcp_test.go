package knet

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

var dhcpClientMAC = net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}

// fakeDHCPServer answers DISCOVER and REQUEST the way QEMU's user network
// does (broadcast replies from 10.0.2.2), or NAKs every REQUEST.
func fakeDHCPServer(ctx context.Context, t *testing.T, ep *channel.Endpoint, nak bool) {
	for {
		pkt := ep.ReadContext(ctx)
		if pkt == nil {
			return
		}
		v := pkt.ToView()
		pkt.DecRef()
		ip := header.IPv4(v.AsSlice())
		u := header.UDP(ip.Payload())
		if u.DestinationPort() != 67 {
			continue
		}
		req, err := dhcpv4.FromBytes(u.Payload())
		if err != nil {
			t.Errorf("bad DHCP request: %v", err)
			return
		}
		var reply *dhcpv4.DHCPv4
		switch req.MessageType() {
		case dhcpv4.MessageTypeDiscover:
			reply, err = dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
				dhcpv4.WithYourIP(net.IPv4(10, 0, 2, 15)), dhcpv4.WithServerIP(net.IPv4(10, 0, 2, 2)),
				dhcpv4.WithNetmask(net.CIDRMask(24, 32)), dhcpv4.WithRouter(net.IPv4(10, 0, 2, 2)), dhcpv4.WithDNS(net.IPv4(10, 0, 2, 3)))
		case dhcpv4.MessageTypeRequest:
			typ := dhcpv4.MessageTypeAck
			if nak {
				typ = dhcpv4.MessageTypeNak
			}
			reply, err = dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(typ),
				dhcpv4.WithYourIP(net.IPv4(10, 0, 2, 15)), dhcpv4.WithServerIP(net.IPv4(10, 0, 2, 2)),
				dhcpv4.WithNetmask(net.CIDRMask(24, 32)), dhcpv4.WithRouter(net.IPv4(10, 0, 2, 2)), dhcpv4.WithDNS(net.IPv4(10, 0, 2, 3)))
		default:
			continue
		}
		if err != nil {
			t.Errorf("building the reply: %v", err)
			return
		}
		ep.InjectInbound(ipv4.ProtocolNumber, stack.NewPacketBuffer(stack.PacketBufferOptions{
			Payload: buffer.MakeWithData(udpPacket(reply.ToBytes())),
		}))
	}
}

// udpPacket wraps payload in IPv4 and UDP headers from 10.0.2.2:67 to
// 255.255.255.255:68.
func udpPacket(payload []byte) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.UDPMinimumSize+len(payload))
	ip := header.IPv4(b)
	src, dst := tcpip.AddrFrom4([4]byte{10, 0, 2, 2}), header.IPv4Broadcast
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(udp.ProtocolNumber), SrcAddr: src, DstAddr: dst})
	ip.SetChecksum(^ip.CalculateChecksum())
	u := header.UDP(b[header.IPv4MinimumSize:])
	u.Encode(&header.UDPFields{SrcPort: 67, DstPort: 68, Length: uint16(len(u))})
	copy(u.Payload(), payload)
	xsum := header.PseudoHeaderChecksum(udp.ProtocolNumber, src, dst, uint16(len(u)))
	xsum = checksum.Checksum(payload, xsum)
	u.SetChecksum(^u.CalculateChecksum(xsum))
	return b
}

// dhcpStack is a stack with one NIC on a channel endpoint.
func dhcpStack(t *testing.T) (*stack.Stack, *channel.Endpoint) {
	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{udp.NewProtocol},
		HandleLocal:        true,
	})
	ep := channel.New(16, 1500, "")
	require.Nil(t, st.CreateNIC(nicID, ep))
	require.Nil(t, st.CreateNIC(loopbackID, loopback.New()))
	require.NoError(t, addAddress(st, loopbackID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}))
	st.SetRouteTable([]tcpip.Route{{Destination: mustSubnet([4]byte{127, 0, 0, 0}, 8), NIC: loopbackID}})
	t.Cleanup(func() { ep.Close(); st.Close() })
	return st, ep
}

func TestDHCPLease(t *testing.T) {
	st, ep := dhcpStack(t)
	go fakeDHCPServer(t.Context(), t, ep, false)
	l, err := openDHCP(st, nicID)
	require.NoError(t, err)
	got, err := acquireLease(l, dhcpClientMAC, 5*time.Second)
	l.close()
	require.NoError(t, err)
	assert.Equal(t, netip.MustParsePrefix("10.0.2.15/24"), got.prefix)
	assert.Equal(t, netip.MustParseAddr("10.0.2.2"), got.gw)
	assert.Equal(t, netip.MustParseAddr("10.0.2.3"), got.dns)
	for _, a := range st.AllAddresses()[nicID] {
		assert.NotEqual(t, header.IPv4Any, a.AddressWithPrefix.Address, "the temporary 0.0.0.0 address is gone")
	}
}

func TestDHCPNak(t *testing.T) {
	st, ep := dhcpStack(t)
	go fakeDHCPServer(t.Context(), t, ep, true)
	l, err := openDHCP(st, nicID)
	require.NoError(t, err)
	_, err = acquireLease(l, dhcpClientMAC, 5*time.Second)
	l.close()
	assert.ErrorContains(t, err, "NAK")
}

func TestDHCPNoServer(t *testing.T) {
	st, _ := dhcpStack(t)
	l, err := openDHCP(st, nicID)
	require.NoError(t, err)
	start := time.Now()
	_, err = acquireLease(l, dhcpClientMAC, 1500*time.Millisecond)
	l.close()
	assert.ErrorIs(t, err, errDHCPTimeout)
	assert.Less(t, time.Since(start), 3*time.Second, "the timeout bounds the wait")
}
