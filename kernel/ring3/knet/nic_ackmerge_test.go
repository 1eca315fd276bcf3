package knet

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// ackSeg describes one received IPv4 TCP segment for the merge tests:
// from 10.0.2.2:80 to 10.0.2.15:port, with valid checksums unless
// badSum.
type ackSeg struct {
	port    uint16
	flags   header.TCPFlags
	ack     uint32
	payload string
	opts    []byte // TCP options, a multiple of 4 bytes
	badSum  bool
}

// frame builds the Ethernet frame of s.
func (s ackSeg) frame() []byte {
	if s.flags == 0 {
		s.flags = header.TCPFlagAck
	}
	tcpLen := header.TCPMinimumSize + len(s.opts)
	b := make([]byte, header.IPv4MinimumSize+tcpLen+len(s.payload))
	src, dst := tcpip.AddrFrom4([4]byte{10, 0, 2, 2}), tcpip.AddrFrom4([4]byte{10, 0, 2, 15})
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)), TTL: 64, Protocol: uint8(header.TCPProtocolNumber), SrcAddr: src, DstAddr: dst,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	tcp := header.TCP(b[header.IPv4MinimumSize:])
	tcp.Encode(&header.TCPFields{
		SrcPort: 80, DstPort: s.port, SeqNum: 5000, AckNum: s.ack, DataOffset: uint8(tcpLen), Flags: s.flags, WindowSize: 65535,
	})
	copy(tcp[header.TCPMinimumSize:], s.opts)
	copy(tcp[tcpLen:], s.payload)
	xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(len(tcp)))
	tcp.SetChecksum(^checksum.Checksum(tcp, xsum))
	if s.badSum {
		tcp.SetChecksum(tcp.Checksum() + 1)
	}
	return ethFrame(testMAC, header.IPv4ProtocolNumber, b)
}

// merged runs markMergedAcks over segs and returns which it superseded.
func merged(t *testing.T, segs ...ackSeg) []bool {
	t.Helper()
	frames := make([][]byte, len(segs))
	for i, s := range segs {
		frames[i] = s.frame()
	}
	out := make([]bool, len(segs))
	for i := range out {
		out[i] = true // markMergedAcks must clear what it does not set
	}
	n := markMergedAcks(frames, out)
	count := 0
	for _, m := range out {
		if m {
			count++
		}
	}
	assert.Equal(t, count, n, "the count returned")
	return out
}

var (
	// tsOpts is NOP NOP and a timestamp option, as Linux and slirp send.
	tsOpts = []byte{header.TCPOptionNOP, header.TCPOptionNOP, header.TCPOptionTS, header.TCPOptionTSLength, 0, 0, 0, 1, 0, 0, 0, 2}
	// sackOpts is NOP NOP and one SACK block.
	sackOpts = []byte{header.TCPOptionNOP, header.TCPOptionNOP, header.TCPOptionSACK, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0}
)

func TestMergeAcksAdvancing(t *testing.T) {
	assert.Equal(t, []bool{true, true, true, false},
		merged(t, ackSeg{port: 1, ack: 100}, ackSeg{port: 1, ack: 200}, ackSeg{port: 1, ack: 300}, ackSeg{port: 1, ack: 400}),
		"every ACK but the newest is covered")
	assert.Equal(t, []bool{true, false},
		merged(t, ackSeg{port: 1, ack: 100, opts: tsOpts}, ackSeg{port: 1, ack: 200, opts: tsOpts}),
		"timestamps do not stop a merge")
	assert.Equal(t, []bool{true, false},
		merged(t, ackSeg{port: 1, ack: 0xfffffff0}, ackSeg{port: 1, ack: 0x10}),
		"across the wrap of the sequence space")
	assert.Equal(t, []bool{false}, merged(t, ackSeg{port: 1, ack: 100}), "one ACK alone")
	assert.Empty(t, merged(t), "an empty batch")
}

func TestMergeAcksKeepsDuplicatesAndReordering(t *testing.T) {
	assert.Equal(t, []bool{false, false, false},
		merged(t, ackSeg{port: 1, ack: 100}, ackSeg{port: 1, ack: 100}, ackSeg{port: 1, ack: 100}),
		"duplicate ACKs all reach the stack (fast retransmit counts them)")
	assert.Equal(t, []bool{true, true, false},
		merged(t, ackSeg{port: 1, ack: 100}, ackSeg{port: 1, ack: 100}, ackSeg{port: 1, ack: 200}),
		"duplicates that a newer ACK in the same batch covers")
	assert.Equal(t, []bool{false, false},
		merged(t, ackSeg{port: 1, ack: 200}, ackSeg{port: 1, ack: 100}),
		"an older ACK after a newer one covers nothing")
}

func TestMergeAcksOnlyPlainAcks(t *testing.T) {
	for name, later := range map[string]ackSeg{
		"data":         {port: 1, ack: 200, flags: header.TCPFlagAck | header.TCPFlagPsh, payload: "data"},
		"FIN":          {port: 1, ack: 200, flags: header.TCPFlagAck | header.TCPFlagFin},
		"RST":          {port: 1, ack: 200, flags: header.TCPFlagAck | header.TCPFlagRst},
		"ECE":          {port: 1, ack: 200, flags: header.TCPFlagAck | header.TCPFlagEce},
		"SACK":         {port: 1, ack: 200, opts: sackOpts},
		"bad checksum": {port: 1, ack: 200, badSum: true},
	} {
		assert.Equal(t, []bool{false, false}, merged(t, ackSeg{port: 1, ack: 100}, later), "a later %s covers nothing", name)
	}
	assert.Equal(t, []bool{false, false}, merged(t, ackSeg{port: 1, ack: 100, opts: sackOpts}, ackSeg{port: 1, ack: 200}),
		"an ACK with SACK blocks is always delivered")
	assert.Equal(t, []bool{false, false, false},
		merged(t, ackSeg{port: 1, ack: 100}, ackSeg{port: 1, ack: 150, flags: header.TCPFlagAck | header.TCPFlagPsh, payload: "x"}, ackSeg{port: 1, ack: 200}),
		"no merge across another frame of the same connection")
}

func TestMergeAcksPerConnection(t *testing.T) {
	assert.Equal(t, []bool{true, true, false, false},
		merged(t, ackSeg{port: 1, ack: 100}, ackSeg{port: 2, ack: 100}, ackSeg{port: 1, ack: 200}, ackSeg{port: 2, ack: 300}),
		"connections merge independently")
	arp := ethFrame(testMAC, header.ARPProtocolNumber, make([]byte, 28))
	frames := [][]byte{ackSeg{port: 1, ack: 100}.frame(), arp, nil, ackSeg{port: 1, ack: 200}.frame()}
	out := make([]bool, len(frames))
	assert.Equal(t, 1, markMergedAcks(frames, out))
	assert.Equal(t, []bool{true, false, false, false}, out, "other frames (ARP, a malformed one) neither merge nor stop a merge")

	var segs []ackSeg
	for p := uint16(1); p <= maxMergeFlows+4; p++ {
		segs = append(segs, ackSeg{port: p, ack: 100})
	}
	for p := uint16(1); p <= maxMergeFlows+4; p++ {
		segs = append(segs, ackSeg{port: p, ack: 200})
	}
	got := merged(t, segs...)
	n := 0
	for i, m := range got[:maxMergeFlows+4] {
		if m {
			n++
		}
		assert.False(t, got[maxMergeFlows+4+i], "the newest ACK of connection %d is delivered", i+1)
	}
	assert.Equal(t, maxMergeFlows, n, "at most maxMergeFlows connections tracked per batch")
}
