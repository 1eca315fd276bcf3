package knet

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// tcp4 is an IPv4 TCP segment from 10.0.2.15:80 to 10.0.2.2:port with
// the given flags, acknowledgement number and payload.
func tcp4(port uint16, flags header.TCPFlags, ack uint32, payload string) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.TCPMinimumSize+len(payload))
	header.IPv4(b).Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(header.TCPProtocolNumber),
		SrcAddr: tcpip.AddrFrom4([4]byte{10, 0, 2, 15}), DstAddr: tcpip.AddrFrom4([4]byte{10, 0, 2, 2}),
	})
	header.TCP(b[header.IPv4MinimumSize:]).Encode(&header.TCPFields{
		SrcPort: 80, DstPort: port, SeqNum: 1000, AckNum: ack, DataOffset: header.TCPMinimumSize, Flags: flags, WindowSize: 65535,
	})
	copy(b[header.IPv4MinimumSize+header.TCPMinimumSize:], payload)
	return b
}

func TestParseTCP4(t *testing.T) {
	frame := func(p []byte) []byte { return ethFrame(testMAC, header.IPv4ProtocolNumber, p) }
	flow, ack, hasAck, pure, ok := parseTCP4(frame(tcp4(4000, header.TCPFlagAck, 77, "")))
	require.True(t, ok)
	assert.True(t, hasAck)
	assert.True(t, pure)
	assert.Equal(t, uint32(77), ack)
	assert.Equal(t, tcpFlow{10, 0, 2, 15, 10, 0, 2, 2, 0, 80, 0x0f, 0xa0}, flow)

	_, _, hasAck, pure, ok = parseTCP4(frame(tcp4(4000, header.TCPFlagAck|header.TCPFlagPsh, 77, "answer")))
	assert.True(t, ok && hasAck)
	assert.False(t, pure, "data")
	for _, f := range []header.TCPFlags{header.TCPFlagSyn | header.TCPFlagAck, header.TCPFlagFin | header.TCPFlagAck, header.TCPFlagRst | header.TCPFlagAck} {
		_, _, _, pure, ok = parseTCP4(frame(tcp4(4000, f, 77, "")))
		assert.True(t, ok)
		assert.False(t, pure, "flags %v", f)
	}

	frag := tcp4(4000, header.TCPFlagAck, 77, "")
	binary.BigEndian.PutUint16(frag[6:], 0x2000) // more fragments
	_, _, _, _, ok = parseTCP4(frame(frag))
	assert.False(t, ok, "a fragment")
	udp := tcp4(4000, header.TCPFlagAck, 77, "")
	udp[9] = uint8(header.UDPProtocolNumber)
	_, _, _, _, ok = parseTCP4(frame(udp))
	assert.False(t, ok, "not TCP")
	_, _, _, _, ok = parseTCP4(ethFrame(testMAC, header.ARPProtocolNumber, make([]byte, 40)))
	assert.False(t, ok, "not IPv4")
	_, _, _, _, ok = parseTCP4(frame(tcp4(4000, header.TCPFlagAck, 77, "")[:30]))
	assert.False(t, ok, "cut short")

	assert.True(t, seqGE(5, 5))
	assert.True(t, seqGE(1, 0xffffff00), "across the wrap")
	assert.False(t, seqGE(0xffffff00, 1))
}

// sentFrames pops every frame the NIC posted and returns their TCP
// payload-less descriptions: destination port and acknowledgement number.
func sentFrames(t *testing.T, n *NIC, tx *fakeRing) [][2]uint32 {
	var out [][2]uint32
	for tx.lastAvail != tx.availIdx() {
		head, addr, length, _ := tx.pop(t)
		frame := n.tx.bufs[addr-n.tx.bufPhys:][virtio.NetHdrSize:length]
		flow, ack, _, _, ok := parseTCP4(frame)
		require.True(t, ok)
		out = append(out, [2]uint32{uint32(binary.BigEndian.Uint16(flow[10:])), ack})
		tx.push(head, 0)
	}
	return out
}

func TestAckHold(t *testing.T) {
	n, _, tx, _, _ := newTestNIC(t, 16)
	n.acks.delay = time.Hour // the test flushes
	ack := header.TCPFlagAck

	// A request's ACK waits; the answer carries it: one frame out.
	_, err := send(n, tcp4(4000, ack, 10, ""))
	require.Nil(t, err)
	assert.Empty(t, sentFrames(t, n, tx), "the ACK is held")
	_, err = send(n, tcp4(4001, ack|header.TCPFlagPsh, 5, "other connection"))
	require.Nil(t, err)
	_, err = send(n, tcp4(4000, ack|header.TCPFlagPsh, 10, "answer"))
	require.Nil(t, err)
	assert.Equal(t, [][2]uint32{{4001, 5}, {4000, 10}}, sentFrames(t, n, tx))
	st := n.Stats()
	assert.Equal(t, uint64(1), st.TxAcksElided)
	assert.Equal(t, uint64(2), st.TxPackets)

	// Two ACKs without an answer (data coming in): both go, in order,
	// and the connection's next ACKs go at once.
	_, err = send(n, tcp4(4000, ack, 20, ""), tcp4(4000, ack, 30, ""))
	require.Nil(t, err)
	_, err = send(n, tcp4(4000, ack, 40, ""))
	require.Nil(t, err)
	assert.Equal(t, [][2]uint32{{4000, 20}, {4000, 30}, {4000, 40}}, sentFrames(t, n, tx))
	// Until it sends data again.
	_, err = send(n, tcp4(4000, ack|header.TCPFlagPsh, 40, "answer"), tcp4(4000, ack, 50, ""))
	require.Nil(t, err)
	assert.Equal(t, [][2]uint32{{4000, 40}}, sentFrames(t, n, tx))

	// Unanswered, the held ACK leaves when the delay ends.
	n.flushAcks()
	assert.Equal(t, [][2]uint32{{4000, 50}}, sentFrames(t, n, tx))
	assert.Equal(t, uint64(1), n.Stats().TxAcksDelayed)

	// An older acknowledgement never replaces a newer one: a segment
	// acknowledging less sends the held ACK first.
	_, err = send(n, tcp4(4002, ack, 100, ""), tcp4(4002, ack|header.TCPFlagPsh, 90, "x"))
	require.Nil(t, err)
	assert.Equal(t, [][2]uint32{{4002, 100}, {4002, 90}}, sentFrames(t, n, tx))

	// At exit everything held goes and nothing is held any more.
	_, err = send(n, tcp4(4003, ack, 7, ""))
	require.Nil(t, err)
	assert.Empty(t, sentFrames(t, n, tx))
	n.stopHoldingAcks()
	assert.Equal(t, [][2]uint32{{4003, 7}}, sentFrames(t, n, tx))
	_, err = send(n, tcp4(4004, ack, 8, ""))
	require.Nil(t, err)
	assert.Equal(t, [][2]uint32{{4004, 8}}, sentFrames(t, n, tx))
	n.txMu.Lock()
	n.reclaimTx()
	assert.Len(t, n.tx.free, 16, "every buffer back: held and elided ones too")
	n.txMu.Unlock()
}

func TestAckHoldLimit(t *testing.T) {
	n, _, tx, _, _ := newTestNIC(t, 64)
	for p := range maxHeldAcks + 2 {
		_, err := send(n, tcp4(uint16(5000+p), header.TCPFlagAck, 1, ""))
		require.Nil(t, err)
	}
	assert.Len(t, sentFrames(t, n, tx), 2, "past the limit ACKs go at once")
	n.stopHoldingAcks()
	assert.Len(t, sentFrames(t, n, tx), maxHeldAcks)
}

func TestAckHoldTimer(t *testing.T) {
	n, _, tx, _, _ := newTestNIC(t, 16)
	start := time.Now()
	_, err := send(n, tcp4(4000, header.TCPFlagAck, 10, ""))
	require.Nil(t, err)
	var got [][2]uint32
	require.Eventually(t, func() bool {
		n.txMu.Lock()
		defer n.txMu.Unlock()
		got = append(got, sentFrames(t, n, tx)...)
		return len(got) > 0
	}, 5*time.Second, time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), ackHoldDelay)
	assert.Equal(t, [][2]uint32{{4000, 10}}, got)
	assert.Equal(t, uint64(1), n.Stats().TxAcksDelayed)
}
