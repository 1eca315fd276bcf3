package knet

import (
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Merging received pure TCP acknowledgements (nic_rx.go).
//
// While the program sends a bulk stream, QEMU's user network answers
// with a pure ACK for every second segment, and the receive goroutine
// finds them queued in batches: 42 frames per wake-up on average while
// examples/httpd served 4 MiB bodies under TCG. Each ACK is a full pass
// through gVisor's IPv4 and TCP input (about 28% of the guest's CPU in
// that transfer, docs/performance.md), although a later ACK of the same
// connection in the same batch says everything the earlier one does.
// So before it hands a batch to the stack, the driver drops a pure ACK
// (IPv4 TCP, flags exactly ACK, ECN's included, no payload, no options
// but NOP, EOL and timestamps: no SACK blocks) when a later frame of the
// same connection in the batch is such an ACK too, with a valid checksum
// and a strictly newer acknowledgement number (seqGE, nic_ackhold.go),
// and no other frame of that connection lies between them. TCP's cumulative acknowledgement makes the later
// one cover the earlier; the window and timestamp it carries are the
// newer ones. Duplicate ACKs (the same number) are all delivered, so
// fast retransmit sees them; SYN, FIN, RST, data and SACK never merge.
// gVisor grows the congestion window by the segments an ACK covers, not
// by ACKs, so fewer ACKs do not slow its growth.

// maxMergeFlows bounds the connections one batch tracks; frames of more
// connections are delivered as they are.
const maxMergeFlows = 16

// mergeLater is the latest frame of a connection seen so far in the
// backward scan: the acknowledgement number of the pure ACK it is, or
// mergeable false when it is anything else (data, SYN, FIN, RST, SACK, a
// bad checksum).
type mergeLater struct {
	flow      tcpFlow
	ack       uint32
	mergeable bool
}

// markMergedAcks sets superseded[i] for each frame of the batch (in
// arrival order) that a later pure ACK of the same connection covers,
// as described above, and returns how many it set. superseded must be
// as long as frames. It does not allocate.
func markMergedAcks(frames [][]byte, superseded []bool) int {
	var later [maxMergeFlows]mergeLater
	nflows, merged := 0, 0
	for i := len(frames) - 1; i >= 0; i-- {
		superseded[i] = false
		flow, ack, _, pure, ok := parseTCP4(frames[i])
		if !ok {
			continue
		}
		j := 0
		for j < nflows && later[j].flow != flow {
			j++
		}
		mergeable := pure && plainAck(frames[i])
		if mergeable && j < nflows && later[j].mergeable && !seqGE(ack, later[j].ack) {
			superseded[i] = true
			merged++
			continue
		}
		if j == nflows {
			if nflows == maxMergeFlows {
				continue
			}
			nflows++
		}
		// The checksum is checked only for an ACK that may supersede
		// others; the stack checks every frame it gets.
		later[j] = mergeLater{flow: flow, ack: ack, mergeable: mergeable && tcp4ChecksumValid(frames[i])}
	}
	return merged
}

// plainAck reports whether frame, an IPv4 TCP segment parseTCP4
// accepted, has no flag but ACK (ECE and CWR included, which parseTCP4
// does not look at) and no TCP options but NOP, EOL and timestamps.
func plainAck(frame []byte) bool {
	ip := frame[ipOff:]
	tcp := ip[int(ip[0]&0xf)*4:]
	if tcp[13] != tcpFlagACK {
		return false
	}
	opts := tcp[20 : int(tcp[12]>>4)*4]
	for k := 0; k < len(opts); {
		switch opts[k] {
		case header.TCPOptionEOL:
			return true
		case header.TCPOptionNOP:
			k++
		case header.TCPOptionTS:
			if k+1 >= len(opts) || opts[k+1] != header.TCPOptionTSLength {
				return false
			}
			k += header.TCPOptionTSLength
		default:
			return false
		}
	}
	return true
}

// tcp4ChecksumValid reports whether the IPv4 header and TCP checksums of
// frame are right; frame is a segment without payload that parseTCP4
// accepted.
func tcp4ChecksumValid(frame []byte) bool {
	ip := header.IPv4(frame[ipOff:])
	if !ip.IsChecksumValid() {
		return false
	}
	tcp := header.TCP(ip[ip.HeaderLength():ip.TotalLength()])
	return tcp.IsChecksumValid(ip.SourceAddress(), ip.DestinationAddress(), 0, 0)
}
