package knet

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Checksum offload on hand-built frames, through the NIC's rings, and
// under a real gVisor stack.

var (
	csumSrc = tcpip.AddrFrom4([4]byte{10, 0, 2, 15})
	csumDst = tcpip.AddrFrom4([4]byte{10, 0, 2, 2})
)

// ipFrame builds an Ethernet frame holding an IPv4 packet from csumSrc to
// csumDst with the given options, protocol, fragment fields and transport
// bytes; its IP header checksum is valid.
func ipFrame(proto tcpip.TransportProtocolNumber, opts header.IPv4OptionsSerializer, flags uint8, fragOff uint16, l4 []byte) []byte {
	hlen := header.IPv4MinimumSize + int(opts.Length())
	f := make([]byte, header.EthernetMinimumSize+hlen+len(l4))
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: testMAC, DstAddr: "\x52\x55\x0a\x00\x02\x02", Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(hlen + len(l4)), ID: 7, Flags: flags, FragmentOffset: fragOff, TTL: 64,
		Protocol: uint8(proto), SrcAddr: csumSrc, DstAddr: csumDst, Options: opts,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	copy(f[header.EthernetMinimumSize+hlen:], l4)
	return f
}

// tcpSegment is a TCP header (checksum field zero, as netstack leaves it
// with TX offload) and payload.
func tcpSegment(payload []byte) []byte {
	s := make([]byte, header.TCPMinimumSize+len(payload))
	header.TCP(s).Encode(&header.TCPFields{SrcPort: 40000, DstPort: 80, SeqNum: 1, AckNum: 2, DataOffset: header.TCPMinimumSize, Flags: header.TCPFlagAck | header.TCPFlagPsh, WindowSize: 1000})
	copy(s[header.TCPMinimumSize:], payload)
	return s
}

// udpDatagram is a UDP header (checksum field zero) and payload.
func udpDatagram(payload []byte) []byte {
	s := make([]byte, header.UDPMinimumSize+len(payload))
	header.UDP(s).Encode(&header.UDPFields{SrcPort: 40000, DstPort: 53, Length: uint16(len(s))})
	copy(s[header.UDPMinimumSize:], payload)
	return s
}

// transportValid checks the transport checksum of the IPv4 packet in
// frame with gVisor's own arithmetic.
func transportValid(t *testing.T, frame []byte) bool {
	t.Helper()
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	require.True(t, ip.IsChecksumValid())
	seg := ip.Payload()
	xsum := header.PseudoHeaderChecksum(ip.TransportProtocol(), ip.SourceAddress(), ip.DestinationAddress(), uint16(len(seg)))
	return checksum.Checksum(seg, xsum) == 0xffff
}

// deviceComplete does what the device does with a NEEDS_CSUM header.
func deviceComplete(t *testing.T, frame []byte, h virtio.NetHdr) {
	t.Helper()
	require.Equal(t, uint8(virtio.NetHdrNeedsCsum), h.Flags)
	require.NoError(t, virtio.CompleteChecksum(frame, h.CsumStart, h.CsumOffset))
}

func TestTxChecksumHdr(t *testing.T) {
	payload := []byte("an odd-length payload: 33 bytes.!")
	opts := header.IPv4OptionsSerializer{&header.IPv4SerializableRouterAlertOption{}} // 4 bytes of options
	for _, tc := range []struct {
		name      string
		frame     []byte
		start     uint16
		offset    uint16
		pseudoLen int
	}{
		{"tcp", ipFrame(header.TCPProtocolNumber, nil, 0, 0, tcpSegment(payload)), 34, 16, 20 + len(payload)},
		{"tcp empty", ipFrame(header.TCPProtocolNumber, nil, header.IPv4FlagDontFragment, 0, tcpSegment(nil)), 34, 16, 20},
		{"tcp ip options", ipFrame(header.TCPProtocolNumber, opts, 0, 0, tcpSegment(payload)), 38, 16, 20 + len(payload)},
		{"udp", ipFrame(header.UDPProtocolNumber, nil, 0, 0, udpDatagram(payload)), 34, 6, 8 + len(payload)},
		{"udp empty", ipFrame(header.UDPProtocolNumber, nil, 0, 0, udpDatagram(nil)), 34, 6, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := tc.frame
			assert.False(t, transportValid(t, frame), "no checksum yet")
			h := txChecksumHdr(frame)
			assert.Equal(t, virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: tc.start, CsumOffset: tc.offset}, h)
			ip := header.IPv4(frame[header.EthernetMinimumSize:])
			want := header.PseudoHeaderChecksum(ip.TransportProtocol(), csumSrc, csumDst, uint16(tc.pseudoLen))
			assert.Equal(t, want, binary.BigEndian.Uint16(frame[tc.start+tc.offset:]), "the pseudo-header sum, not complemented")
			deviceComplete(t, frame, h)
			assert.True(t, transportValid(t, frame))
		})
	}

	// Frames that go out as they are: zero header, not a byte changed.
	icmp := make([]byte, header.ICMPv4MinimumSize+8)
	header.ICMPv4(icmp).SetType(header.ICMPv4Echo)
	header.ICMPv4(icmp).SetChecksum(^checksum.Checksum(icmp, 0))
	long := ipFrame(header.UDPProtocolNumber, nil, 0, 0, udpDatagram(payload))
	ip := header.IPv4(long[header.EthernetMinimumSize:])
	ip.SetTotalLength(ip.TotalLength() + 1) // claims more than the frame holds
	badVersion := ipFrame(header.TCPProtocolNumber, nil, 0, 0, tcpSegment(payload))
	badVersion[header.EthernetMinimumSize] = 0x65
	for name, frame := range map[string][]byte{
		"arp":            ethFrame(header.EthernetBroadcastAddress, header.ARPProtocolNumber, make([]byte, 28)),
		"icmp":           ipFrame(header.ICMPv4ProtocolNumber, nil, 0, 0, icmp),
		"first fragment": ipFrame(header.UDPProtocolNumber, nil, header.IPv4FlagMoreFragments, 0, udpDatagram(payload)),
		"last fragment":  ipFrame(header.UDPProtocolNumber, nil, 0, 185, payload),
		"short tcp":      ipFrame(header.TCPProtocolNumber, nil, 0, 0, make([]byte, 19)),
		"short udp":      ipFrame(header.UDPProtocolNumber, nil, 0, 0, make([]byte, 7)),
		"truncated":      long,
		"not version 4":  badVersion,
		"ipv6":           ethFrame(testMAC, header.IPv6ProtocolNumber, make([]byte, 60)),
		"runt":           ipFrame(header.TCPProtocolNumber, nil, 0, 0, tcpSegment(nil))[:30],
	} {
		before := bytes.Clone(frame)
		assert.Equal(t, virtio.NetHdr{}, txChecksumHdr(frame), name)
		assert.Equal(t, before, frame, name)
	}
}

func TestRxChecksum(t *testing.T) {
	payload := []byte("received payload")
	valid := func(proto tcpip.TransportProtocolNumber) []byte {
		var f []byte
		if proto == header.TCPProtocolNumber {
			f = ipFrame(proto, nil, 0, 0, tcpSegment(payload))
		} else {
			f = ipFrame(proto, nil, 0, 0, udpDatagram(payload))
		}
		deviceComplete(t, f, txChecksumHdr(f))
		return f
	}
	partial := func(proto tcpip.TransportProtocolNumber) ([]byte, virtio.NetHdr) {
		f := ipFrame(proto, nil, 0, 0, tcpSegment(payload))
		if proto == header.UDPProtocolNumber {
			f = ipFrame(proto, nil, 0, 0, udpDatagram(payload))
		}
		return f, txChecksumHdr(f)
	}
	dataValid := virtio.NetHdr{Flags: virtio.NetHdrDataValid}

	// No flags: netstack verifies, nothing is touched.
	f := valid(header.TCPProtocolNumber)
	f[len(f)-1] ^= 1 // even a bad checksum: not the driver's business
	before := bytes.Clone(f)
	vouched, completed, ok := rxChecksum(virtio.NetHdr{}, f)
	assert.Equal(t, [3]bool{false, false, true}, [3]bool{vouched, completed, ok})
	assert.Equal(t, before, f)

	// DATA_VALID on IPv4 TCP or UDP with a good IP header: vouched.
	for _, p := range []tcpip.TransportProtocolNumber{header.TCPProtocolNumber, header.UDPProtocolNumber} {
		vouched, completed, ok = rxChecksum(dataValid, valid(p))
		assert.Equal(t, [3]bool{true, false, true}, [3]bool{vouched, completed, ok}, "protocol %d", p)
	}
	// ... but not with a bad IP header checksum, nor for ICMP or ARP.
	f = valid(header.UDPProtocolNumber)
	f[header.EthernetMinimumSize+8]-- // TTL
	vouched, _, ok = rxChecksum(dataValid, f)
	assert.False(t, vouched, "bad IP header checksum")
	assert.True(t, ok)
	vouched, _, _ = rxChecksum(dataValid, ipFrame(header.ICMPv4ProtocolNumber, nil, 0, 0, make([]byte, 8)))
	assert.False(t, vouched, "icmp")
	vouched, _, _ = rxChecksum(dataValid, ethFrame(testMAC, header.ARPProtocolNumber, make([]byte, 28)))
	assert.False(t, vouched, "arp")

	// NEEDS_CSUM where the driver expects it: vouched, the partial sum
	// stays (netstack does not look at it).
	for _, p := range []tcpip.TransportProtocolNumber{header.TCPProtocolNumber, header.UDPProtocolNumber} {
		f, h := partial(p)
		before := bytes.Clone(f)
		vouched, completed, ok = rxChecksum(h, f)
		assert.Equal(t, [3]bool{true, false, true}, [3]bool{vouched, completed, ok}, "protocol %d", p)
		assert.Equal(t, before, f)
	}
	// NEEDS_CSUM and DATA_VALID together: the same.
	f, h := partial(header.TCPProtocolNumber)
	h.Flags |= virtio.NetHdrDataValid
	vouched, _, _ = rxChecksum(h, f)
	assert.True(t, vouched)

	// NEEDS_CSUM elsewhere (here: an IP fragment, which the driver does
	// not vouch for): completed in software, left to netstack to verify.
	f = ipFrame(header.UDPProtocolNumber, nil, header.IPv4FlagMoreFragments, 0, udpDatagram(payload))
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	binary.BigEndian.PutUint16(f[34+6:], header.PseudoHeaderChecksum(header.UDPProtocolNumber, csumSrc, csumDst, uint16(len(ip.Payload()))))
	vouched, completed, ok = rxChecksum(virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 34, CsumOffset: 6}, f)
	assert.Equal(t, [3]bool{false, true, true}, [3]bool{vouched, completed, ok})
	assert.True(t, transportValid(t, f))
	// ... and at an offset that does not match the protocol.
	f, h = partial(header.TCPProtocolNumber)
	h.CsumOffset = 6
	vouched, completed, _ = rxChecksum(h, f)
	assert.Equal(t, [2]bool{false, true}, [2]bool{vouched, completed})

	// NEEDS_CSUM with the field outside the frame: dropped.
	f, h = partial(header.UDPProtocolNumber)
	h.CsumStart = uint16(len(f)) - 1
	_, _, ok = rxChecksum(h, f)
	assert.False(t, ok)
}

// TestChecksumOffloadThroughRings sends and receives through the NIC's
// queues with both features negotiated.
func TestChecksumOffloadThroughRings(t *testing.T) {
	n, rx, tx, d, _ := newTestNIC(t, 8)
	n.features = virtio.NetFeatureCsum | virtio.NetFeatureGuestCsum
	assert.Equal(t, stack.CapabilityResolutionRequired|stack.CapabilityTXChecksumOffload, n.ep.Capabilities())

	payload := []byte("through the transmit ring")
	frame := ipFrame(header.TCPProtocolNumber, nil, 0, 0, tcpSegment(payload))
	sent, err := send(n, frame[header.EthernetMinimumSize:])
	require.Nil(t, err)
	require.Equal(t, 1, sent)
	_, addr, length, _ := tx.pop(t)
	b := n.tx.bufs[addr-n.tx.bufPhys:][:length]
	h, _ := virtio.DecodeNetHdr(b)
	assert.Equal(t, virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 34, CsumOffset: 16}, h)
	out := b[virtio.NetHdrSize:]
	deviceComplete(t, out, h)
	assert.True(t, transportValid(t, out))
	sent, _ = send(n, make([]byte, 28)) // not IPv4 TCP/UDP
	require.Equal(t, 1, sent)
	_, addr, _, _ = tx.pop(t)
	assert.Equal(t, make([]byte, virtio.NetHdrSize), n.tx.bufs[addr-n.tx.bufPhys:][:virtio.NetHdrSize])
	assert.Equal(t, uint64(1), n.Stats().TxCsumOffloaded)

	// Receive: a NEEDS_CSUM frame, a fragment with NEEDS_CSUM, one with
	// the field outside it, and one without flags.
	in := ipFrame(header.UDPProtocolNumber, nil, 0, 0, udpDatagram(payload))
	copy(in, testMAC) // to us (ipFrame addresses the gateway)
	hdr := txChecksumHdr(in)
	deviceReceiveHdr(t, n, rx, hdr, in)
	frag := bytes.Clone(in) // with its partial sum
	fragIP := header.IPv4(frag[header.EthernetMinimumSize:])
	fragIP.SetFlagsFragmentOffset(header.IPv4FlagMoreFragments, 0)
	fragIP.SetChecksum(0)
	fragIP.SetChecksum(^fragIP.CalculateChecksum())
	deviceReceiveHdr(t, n, rx, hdr, frag)
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 2000}, in)
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{}, in)
	n.drainRx()
	require.Len(t, d.data, 3)
	st := n.Stats()
	assert.Equal(t, uint64(1), st.RxCsumVouched)
	assert.Equal(t, uint64(1), st.RxCsumCompleted)
	assert.Equal(t, uint64(1), st.RxMalformed)
	assert.True(t, transportValid(t, append(make([]byte, 14), d.data[1]...)), "the fragment's checksum was completed")
	assert.False(t, n.ep.rxVouched.Load())
	assert.Equal(t, stack.CapabilityResolutionRequired|stack.CapabilityTXChecksumOffload, n.ep.Capabilities())

	// Without GUEST_CSUM the header's flags are ignored.
	n.features = 0
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 2000}, in)
	n.drainRx()
	assert.Len(t, d.data, 4)
	assert.Equal(t, uint64(1), n.Stats().RxMalformed)
	assert.Equal(t, stack.CapabilityResolutionRequired, n.ep.Capabilities())
}

// deviceReceiveHdr writes h and frame into the next receive buffer.
func deviceReceiveHdr(t *testing.T, n *NIC, rx *fakeRing, h virtio.NetHdr, frame []byte) {
	head, addr, _, _ := rx.pop(t)
	buf := n.rx.bufs[addr-n.rx.bufPhys:][:bufSize]
	h.NumBuffers = 1
	h.Encode(buf)
	copy(buf[virtio.NetHdrSize:], frame)
	rx.push(head, uint32(virtio.NetHdrSize+len(frame)))
}

// peerMAC is the MAC address of csumDst, the peer of the tests' stacks.
var peerMAC = tcpip.LinkAddress("\x52\x55\x0a\x00\x02\x02")

// fromPeer turns frame f, built by ipFrame, into one that csumDst sends
// the stack: the IP addresses swapped (its IP checksum redone), from
// peerMAC to testMAC. It returns f.
func fromPeer(f []byte) []byte {
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.SetSourceAddress(csumDst)
	ip.SetDestinationAddress(csumSrc)
	ip.SetChecksum(0)
	ip.SetChecksum(^ip.CalculateChecksum())
	copy(f, testMAC)
	copy(f[6:], peerMAC)
	return f
}

// stackOnNIC attaches a gVisor stack with IPv4, ARP and the given
// transport protocols to n, whose goroutines it keeps from starting (the
// test drains the rings): address csumSrc, every destination through the
// NIC, csumDst a static neighbour at peerMAC.
func stackOnNIC(t *testing.T, n *NIC, transports ...stack.TransportProtocolFactory) *stack.Stack {
	t.Helper()
	n.start.Do(func() {})
	n.ep.dispatcher = nil
	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: transports,
	})
	t.Cleanup(st.Destroy)
	require.Nil(t, st.CreateNIC(1, n.LinkEndpoint()))
	require.Nil(t, st.AddProtocolAddress(1, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: csumSrc.WithPrefix()}, stack.AddressProperties{}))
	st.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: 1}})
	require.Nil(t, st.AddStaticNeighbor(1, ipv4.ProtocolNumber, csumDst, peerMAC))
	return st
}

// TestChecksumOffloadWithStack puts the NIC under a real gVisor stack:
// what netstack leaves in the checksum fields with TX offload, and that a
// frame the device vouched for is accepted with only a partial checksum
// while one it did not vouch for is still verified. (This gVisor version
// takes RXChecksumValidated from the endpoint's capabilities at delivery;
// the test catches a version that does otherwise.)
func TestChecksumOffloadWithStack(t *testing.T) {
	n, rx, tx, _, _ := newTestNIC(t, 16)
	n.features = virtio.NetFeatureCsum | virtio.NetFeatureGuestCsum
	st := stackOnNIC(t, n, udp.NewProtocol, tcp.NewProtocol)

	// Transmit: a UDP datagram and a TCP SYN leave with the pseudo-header
	// sum for the device to complete.
	var wq waiter.Queue
	uep, terr := st.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	require.Nil(t, terr)
	defer uep.Close()
	require.Nil(t, uep.Bind(tcpip.FullAddress{Addr: csumSrc, Port: 5000}))
	var r bytes.Reader
	r.Reset([]byte("datagram from netstack"))
	_, terr = uep.Write(&r, tcpip.WriteOptions{To: &tcpip.FullAddress{Addr: csumDst, Port: 53}})
	require.Nil(t, terr)
	tep, terr := st.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	require.Nil(t, terr)
	defer tep.Close()
	tep.Connect(tcpip.FullAddress{Addr: csumDst, Port: 80}) // ErrConnectStarted
	for _, proto := range []tcpip.TransportProtocolNumber{header.UDPProtocolNumber, header.TCPProtocolNumber} {
		var b []byte
		require.Eventually(t, func() bool {
			if tx.availIdx() == tx.lastAvail {
				return false
			}
			_, addr, length, _ := tx.pop(t)
			b = n.tx.bufs[addr-n.tx.bufPhys:][:length]
			return true
		}, 5*time.Second, time.Millisecond, "nothing sent")
		h, _ := virtio.DecodeNetHdr(b)
		frame := b[virtio.NetHdrSize:]
		ip := header.IPv4(frame[header.EthernetMinimumSize:])
		require.Equal(t, proto, ip.TransportProtocol())
		want := virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 34, CsumOffset: 6}
		if proto == header.TCPProtocolNumber {
			want.CsumOffset = 16
		}
		assert.Equal(t, want, h)
		assert.False(t, transportValid(t, frame))
		deviceComplete(t, frame, h)
		assert.True(t, transportValid(t, frame), "protocol %d", proto)
	}

	// Receive: datagrams to port 5000.
	datagram := func(payload string, good bool) []byte {
		u := udpDatagram([]byte(payload))
		header.UDP(u).SetSourcePort(53)
		header.UDP(u).SetDestinationPort(5000)
		f := fromPeer(ipFrame(header.UDPProtocolNumber, nil, 0, 0, u))
		h := txChecksumHdr(f) // the partial sum a NEEDS_CSUM frame carries
		if good {
			deviceComplete(t, f, h)
		}
		return f
	}
	received := func() []string {
		var got []string
		for {
			var w bytes.Buffer
			if _, err := uep.Read(&w, tcpip.ReadOptions{}); err != nil {
				return got
			}
			got = append(got, w.String())
		}
	}
	needsCsum := virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 34, CsumOffset: 6}
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{}, datagram("plain, good", true))
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{}, datagram("plain, partial: dropped", false))
	deviceReceiveHdr(t, n, rx, needsCsum, datagram("needs csum, partial", false))
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{Flags: virtio.NetHdrDataValid}, datagram("data valid", true))
	deviceReceiveHdr(t, n, rx, virtio.NetHdr{}, datagram("plain again, partial: dropped", false))
	n.drainRx()
	assert.Equal(t, []string{"plain, good", "needs csum, partial", "data valid"}, received())
	assert.Equal(t, uint64(2), st.Stats().UDP.ChecksumErrors.Value(), "unvouched frames are still verified")
	assert.Equal(t, uint64(2), n.Stats().RxCsumVouched)

	// With GUEST_CSUM off the flags are ignored: netstack verifies.
	n.features = 0
	deviceReceiveHdr(t, n, rx, needsCsum, datagram("features off: flags ignored, dropped", false))
	n.drainRx()
	assert.Empty(t, received())
	assert.Equal(t, uint64(3), st.Stats().UDP.ChecksumErrors.Value())
}
