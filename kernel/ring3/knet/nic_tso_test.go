package knet

import (
	"bytes"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// TCP segmentation in the driver, on hand-built GSO packets and under a
// real gVisor stack.

var (
	tsoSrc6 = tcpip.AddrFrom16([16]byte{0xfe, 0x80, 15: 1})
	tsoDst6 = tcpip.AddrFrom16([16]byte{0xfe, 0x80, 15: 2})
)

const tsoSeq = 0xfffff000 // the sequence number wraps inside the packet

// gsoPacket builds the packet gVisor's TCP hands a link that segments:
// the payload in views of the given sizes, a TCP header with 12 bytes of
// options and the given flags, its checksum field left with junk (the
// driver must compute it), IPv4 (ID 100, DF) or IPv6, an Ethernet header.
func gsoPacket(n *NIC, v6 bool, flags header.TCPFlags, mss uint16, views ...[]byte) *stack.PacketBuffer {
	var payload buffer.Buffer
	for _, v := range views {
		payload.Append(buffer.NewViewWithData(v))
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{ReserveHeaderBytes: 128, Payload: payload})
	opts := []byte{header.TCPOptionNOP, header.TCPOptionNOP, header.TCPOptionTS, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	th := header.TCP(pkt.TransportHeader().Push(header.TCPMinimumSize + len(opts)))
	th.Encode(&header.TCPFields{SrcPort: 80, DstPort: 40000, SeqNum: tsoSeq, AckNum: 77, DataOffset: uint8(len(th)), Flags: flags, WindowSize: 1000, Checksum: 0xdead})
	copy(th[header.TCPMinimumSize:], opts)
	pkt.TransportProtocolNumber = header.TCPProtocolNumber
	gso := stack.GSO{NeedsCsum: true, MSS: mss, CsumOffset: header.TCPChecksumOffset, MaxSize: tsoMaxSize}
	if v6 {
		ip := header.IPv6(pkt.NetworkHeader().Push(header.IPv6MinimumSize))
		ip.Encode(&header.IPv6Fields{PayloadLength: uint16(pkt.Size() - header.IPv6MinimumSize), TransportProtocol: header.TCPProtocolNumber, HopLimit: 64, SrcAddr: tsoSrc6, DstAddr: tsoDst6})
		pkt.NetworkProtocolNumber = header.IPv6ProtocolNumber
		gso.Type, gso.L3HdrLen = stack.GSOTCPv6, header.IPv6MinimumSize
	} else {
		ip := header.IPv4(pkt.NetworkHeader().Push(header.IPv4MinimumSize))
		ip.Encode(&header.IPv4Fields{TotalLength: uint16(pkt.Size()), ID: 100, Flags: header.IPv4FlagDontFragment, TTL: 64, Protocol: uint8(header.TCPProtocolNumber), SrcAddr: csumSrc, DstAddr: csumDst})
		pkt.NetworkProtocolNumber = header.IPv4ProtocolNumber
		gso.Type, gso.L3HdrLen = stack.GSOTCPv4, header.IPv4MinimumSize
	}
	pkt.GSOOptions = gso
	pkt.EgressRoute.RemoteLinkAddress = peerMAC
	n.ep.AddHeader(pkt)
	return pkt
}

// writeOne hands pkt to the NIC alone.
func writeOne(n *NIC, pkt *stack.PacketBuffer) (int, tcpip.Error) {
	var l stack.PacketBufferList
	l.PushBack(pkt)
	defer l.DecRef()
	return n.ep.WritePackets(l)
}

// tsoFrame is one frame the device got, parsed.
type tsoFrame struct {
	hdr     virtio.NetHdr
	frame   []byte
	ipID    uint16
	seq     uint32
	flags   header.TCPFlags
	payload []byte
	csumOK  bool // the TCP checksum as sent is right
}

// popFrames takes every frame the NIC posted and checks what each must
// have whatever the packet: an IP header with the right length (and a
// valid IPv4 checksum), a frame no longer than the MTU allows.
func popFrames(t *testing.T, n *NIC, tx *fakeRing) []tsoFrame {
	t.Helper()
	var out []tsoFrame
	for tx.lastAvail != tx.availIdx() {
		head, addr, length, _ := tx.pop(t)
		b := bytes.Clone(n.tx.bufs[addr-n.tx.bufPhys:][:length])
		tx.push(head, 0)
		h, _ := virtio.DecodeNetHdr(b)
		f := tsoFrame{hdr: h, frame: b[virtio.NetHdrSize:]}
		require.LessOrEqual(t, len(f.frame), header.EthernetMinimumSize+int(n.mtu))
		var seg []byte
		var xsum uint16
		switch header.Ethernet(f.frame).Type() {
		case header.IPv4ProtocolNumber:
			ip := header.IPv4(f.frame[header.EthernetMinimumSize:])
			require.True(t, ip.IsChecksumValid(), "IPv4 header checksum")
			require.Equal(t, len(ip), int(ip.TotalLength()))
			f.ipID, seg = ip.ID(), ip.Payload()
			xsum = header.PseudoHeaderChecksum(header.TCPProtocolNumber, ip.SourceAddress(), ip.DestinationAddress(), uint16(len(seg)))
		case header.IPv6ProtocolNumber:
			ip := header.IPv6(f.frame[header.EthernetMinimumSize:])
			require.Equal(t, len(ip)-header.IPv6MinimumSize, int(ip.PayloadLength()))
			seg = ip.Payload()
			xsum = header.PseudoHeaderChecksum(header.TCPProtocolNumber, ip.SourceAddress(), ip.DestinationAddress(), uint16(len(seg)))
		default:
			t.Fatalf("frame of type %#x", header.Ethernet(f.frame).Type())
		}
		th := header.TCP(seg)
		f.seq, f.flags, f.payload = th.SequenceNumber(), th.Flags(), th.Payload()
		f.csumOK = checksum.Checksum(seg, xsum) == 0xffff
		out = append(out, f)
	}
	return out
}

// pattern is n bytes that differ from their neighbours.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func TestSegmentTCP(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		n, _, tx, _, _ := newTestNIC(t, 16)
		mss := 1448 // a 1514-byte frame with 12 bytes of TCP options
		if v6 {
			mss = 1428
		}
		data := pattern(7*mss-500, 3)
		// Views split off odd sizes: a frame takes bytes from three views.
		pkt := gsoPacket(n, v6, header.TCPFlagAck|header.TCPFlagPsh|header.TCPFlagFin|header.TCPFlagCwr, uint16(mss), data[:3000], data[3000:3001], data[3001:])
		sent, err := writeOne(n, pkt)
		require.Nil(t, err)
		require.Equal(t, 7, sent, "%d bytes in frames of %d", len(data), mss)
		frames := popFrames(t, n, tx)
		require.Len(t, frames, 7)
		var got []byte
		for i, f := range frames {
			assert.True(t, f.csumOK, "v6=%v frame %d: TCP checksum", v6, i)
			assert.Equal(t, virtio.NetHdr{}, f.hdr, "no offload asked of the device")
			assert.Equal(t, uint32(tsoSeq)+uint32(len(got)), f.seq, "frame %d starts where the last ended", i)
			want := header.TCPFlagAck
			if i == 0 {
				want |= header.TCPFlagCwr
			}
			if i == 6 {
				want |= header.TCPFlagPsh | header.TCPFlagFin
			}
			assert.Equal(t, want, f.flags, "v6=%v frame %d flags", v6, i)
			if !v6 {
				assert.Equal(t, uint16(100+i), f.ipID)
			}
			if i < 6 {
				assert.Len(t, f.payload, mss)
			}
			got = append(got, f.payload...)
		}
		assert.Equal(t, data, got, "the payload, whole and in order")
		assert.Equal(t, uint64(1), n.Stats().TxSegmented)
	}
}

func TestSegmentTCPSmall(t *testing.T) {
	n, _, tx, _, _ := newTestNIC(t, 16)
	// A pure ACK and a segment under the MSS: one frame each, unchanged
	// but for the checksum the driver completes.
	for _, p := range [][]byte{nil, pattern(100, 9)} {
		pkt := gsoPacket(n, false, header.TCPFlagAck|header.TCPFlagPsh, 1448, p)
		sent, err := writeOne(n, pkt)
		require.Nil(t, err)
		require.Equal(t, 1, sent)
		frames := popFrames(t, n, tx)
		require.Len(t, frames, 1)
		f := frames[0]
		assert.True(t, f.csumOK)
		assert.Equal(t, uint16(100), f.ipID)
		assert.Equal(t, uint32(tsoSeq), f.seq)
		assert.Equal(t, header.TCPFlagAck|header.TCPFlagPsh, f.flags)
		assert.Equal(t, len(p), len(f.payload))
	}
	assert.Equal(t, uint64(0), n.Stats().TxSegmented)
}

func TestSegmentTCPDeviceChecksum(t *testing.T) {
	n, _, tx, _, _ := newTestNIC(t, 16)
	n.features = virtio.NetFeatureCsum
	data := pattern(3000, 5)
	for _, v6 := range []bool{false, true} {
		sent, err := writeOne(n, gsoPacket(n, v6, header.TCPFlagAck, 1428, data))
		require.Nil(t, err)
		require.Equal(t, 3, sent)
		for i, f := range popFrames(t, n, tx) {
			if v6 {
				// The device completes checksums of IPv4 only (nic_csum.go).
				assert.Equal(t, virtio.NetHdr{}, f.hdr)
				assert.True(t, f.csumOK, "IPv6 frame %d: summed by the driver", i)
				continue
			}
			require.Equal(t, virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: 34, CsumOffset: 16}, f.hdr)
			assert.False(t, f.csumOK, "left for the device")
			deviceComplete(t, f.frame, f.hdr)
			assert.True(t, transportValid(t, f.frame), "frame %d after the device", i)
		}
	}
}

func TestSegmentTCPRingFull(t *testing.T) {
	n, _, tx, _, _ := newTestNIC(t, 4)
	// A device that takes the frames posted so far and finishes one
	// while the driver waits: the packet goes out whole through a ring
	// of 4.
	var got []byte
	n.sleepTx = func(time.Duration) {
		for _, f := range popFrames(t, n, tx) {
			got = append(got, f.payload...)
		}
	}
	data := pattern(7*1448, 1)
	sent, err := writeOne(n, gsoPacket(n, false, header.TCPFlagAck, 1448, data))
	require.Nil(t, err)
	assert.Equal(t, 7, sent)
	for _, f := range popFrames(t, n, tx) {
		got = append(got, f.payload...)
	}
	assert.Equal(t, data, got, "every frame, in order")
	assert.Zero(t, n.Stats().TxRingFull)

	// A device that takes nothing: after txFullWait the rest is dropped.
	n, _, tx, _, _ = newTestNIC(t, 4)
	waits := 0
	n.sleepTx = func(time.Duration) { waits++ }
	sent, err = writeOne(n, gsoPacket(n, false, header.TCPFlagAck, 1448, data))
	assert.Nil(t, err, "frames went out")
	assert.Equal(t, 4, sent)
	assert.Equal(t, int(txFullWait/txFullPoll), waits, "it waited, and not for ever")
	assert.Equal(t, uint64(3), n.Stats().TxRingFull, "the rest is dropped and counted; TCP retransmits it")
	frames := popFrames(t, n, tx)
	require.Len(t, frames, 4)
	assert.Equal(t, data[:4*1448], append(append(append(frames[0].payload, frames[1].payload...), frames[2].payload...), frames[3].payload...), "the frames sent are the packet's start")
	assert.Equal(t, uint32(tsoSeq+3*1448-1<<32), frames[3].seq, "across the wrap")

	// Headers the driver does not know: dropped and counted.
	pkt := gsoPacket(n, false, header.TCPFlagAck, 1448, data)
	pkt.GSOOptions.Type = stack.GSOTCPv6
	sent, err = writeOne(n, pkt)
	assert.Equal(t, 0, sent)
	assert.IsType(t, &tcpip.ErrMessageTooLong{}, err)
	assert.Equal(t, uint64(1), n.Stats().TxUnsegmentable)
}

// TestSegmentTCPWithStack has gVisor's TCP send 20,000 bytes through the
// NIC to a peer the test plays: the frames must be valid, at most an MSS
// long and carry the bytes in order, and TCP must have built at least
// one packet the driver cut (it would not if the endpoint did not ask
// for it).
func TestSegmentTCPWithStack(t *testing.T) {
	n, rx, tx, _, _ := newTestNIC(t, 64)
	st := stackOnNIC(t, n, tcp.NewProtocol)

	var wq waiter.Queue
	ep, terr := st.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	require.Nil(t, terr)
	defer ep.Close()
	ep.Connect(tcpip.FullAddress{Addr: csumDst, Port: 80}) // ErrConnectStarted

	next := func() []tsoFrame {
		var fs []tsoFrame
		require.Eventually(t, func() bool {
			fs = popFrames(t, n, tx)
			return len(fs) > 0
		}, 5*time.Second, time.Millisecond, "nothing sent")
		return fs
	}
	const peerISS = 5000

	// The SYN.
	syn := next()
	require.Len(t, syn, 1)
	synTCP := header.TCP(syn[0].frame[header.EthernetMinimumSize+header.IPv4MinimumSize:])
	require.Equal(t, header.TCPFlagSyn, synTCP.Flags())
	assert.True(t, syn[0].csumOK, "the SYN's checksum, completed by the driver")
	localPort, iss := synTCP.SourcePort(), synTCP.SequenceNumber()

	send := func(seq, ack uint32, flags header.TCPFlags, opts []byte) {
		l4 := make([]byte, header.TCPMinimumSize+len(opts))
		header.TCP(l4).Encode(&header.TCPFields{SrcPort: 80, DstPort: localPort, SeqNum: seq, AckNum: ack, DataOffset: uint8(len(l4)), Flags: flags, WindowSize: 65535})
		copy(l4[header.TCPMinimumSize:], opts)
		f := fromPeer(ipFrame(header.TCPProtocolNumber, nil, 0, 0, l4))
		th := header.TCP(header.IPv4(f[header.EthernetMinimumSize:]).Payload())
		th.SetChecksum(^checksum.Checksum(th, header.PseudoHeaderChecksum(header.TCPProtocolNumber, csumDst, csumSrc, uint16(len(th)))))
		deviceReceiveHdr(t, n, rx, virtio.NetHdr{}, f)
		n.drainRx()
	}
	mss := []byte{header.TCPOptionMSS, 4, 0x05, 0xb4} // 1460
	send(peerISS, iss+1, header.TCPFlagSyn|header.TCPFlagAck, mss)
	ack := next()
	require.Len(t, ack, 1)
	assert.True(t, ack[0].csumOK)

	data := pattern(20000, 7)
	var r bytes.Reader
	r.Reset(data)
	var got []byte
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < len(data) {
		require.True(t, time.Now().Before(deadline), "stalled at %d bytes", len(got))
		if r.Len() > 0 {
			if _, terr := ep.Write(&r, tcpip.WriteOptions{}); terr != nil {
				require.IsType(t, &tcpip.ErrWouldBlock{}, terr)
			}
		}
		frames := popFrames(t, n, tx)
		if len(frames) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		for _, f := range frames {
			require.True(t, f.csumOK, "TCP checksum")
			require.LessOrEqual(t, len(f.payload), 1460)
			require.Equal(t, iss+1+uint32(len(got)), f.seq, "in order, no gap")
			got = append(got, f.payload...)
		}
		send(peerISS+1, iss+1+uint32(len(got)), header.TCPFlagAck, nil)
	}
	assert.Equal(t, data, got)
	assert.NotZero(t, n.Stats().TxSegmented, "TCP built packets larger than a frame")
}
