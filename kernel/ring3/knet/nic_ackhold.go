package knet

import (
	"encoding/binary"
	"time"
)

// Holding back pure TCP acknowledgements (a delayed ACK at the link).
//
// gVisor's TCP acknowledges received data at once, after every batch of
// segments it handles: a request that the program answers a moment later
// costs two frames out (the bare ACK, then the answer, which carries the
// same acknowledgement again), where Linux's delayed ACK sends one. Every
// frame is a trip through the driver, a notification of the device and,
// under QEMU's user network, work for its I/O thread. So the driver holds
// a pure ACK (IPv4 TCP, flags exactly ACK, no payload) for ackHoldDelay,
// one per connection: when another segment of the same connection with
// an acknowledgement at least as new goes out first (the answer), the held
// one is dropped, as it says nothing new; otherwise it is sent when the
// delay ends. A second pure ACK of a connection with one held sends the
// held one at once, so no acknowledgement is ever lost or reordered
// (duplicate ACKs for fast retransmit all reach the peer). SYN, FIN, RST
// and segments with data are never held.
//
// Only connections that answer are held back (Linux's "pingpong" mode):
// a connection whose held ACK had to be sent, by the timer or by the
// next ACK (a bulk transfer into the program, a peer that waits for the
// ACK), has its ACKs sent at once until it sends data again. So a
// download into the program is acknowledged as before and a peer that
// waits for an acknowledgement is delayed once, not at every segment.

// ackHoldDelay bounds how long an ACK waits for the answer. Under TCG a
// loaded server answers within a few milliseconds; Linux's delayed ACK
// waits 40 ms at least.
const ackHoldDelay = 10 * time.Millisecond

// maxQuickFlows bounds the connections remembered as not answering.
const maxQuickFlows = 32

// maxHeldAcks bounds the connections with an ACK held (and the transmit
// buffers they occupy); past it an ACK goes out at once.
const maxHeldAcks = 16

// tcpFlow names one direction of a TCP connection: source and destination
// IPv4 addresses and ports.
type tcpFlow [12]byte

// heldAck is one ACK frame the driver holds: its flow, the acknowledgement
// number it carries and the transmit buffer it waits in, with its length.
type heldAck struct {
	flow tcpFlow
	ack  uint32
	buf  uint16
	len  int
}

// ackHold is the set of held ACKs. The caller serialises its use (the
// NIC's txMu).
type ackHold struct {
	off   bool // holding is off (the exit hook turned it off)
	held  []heldAck
	timer *time.Timer   // flushes the held ACKs; armed while any is held
	delay time.Duration // the hold; 0 means ackHoldDelay (tests set it)
	// quick lists connections whose ACKs go out at once (they did not
	// answer the last held one); next is the entry to reuse when full.
	quick [maxQuickFlows]tcpFlow
	nq    int
	next  int
}

// isQuick reports whether flow's ACKs go out at once.
func (h *ackHold) isQuick(flow tcpFlow) bool {
	for i := 0; i < h.nq; i++ {
		if h.quick[i] == flow {
			return true
		}
	}
	return false
}

// setQuick records whether flow's ACKs go out at once.
func (h *ackHold) setQuick(flow tcpFlow, on bool) {
	for i := 0; i < h.nq; i++ {
		if h.quick[i] == flow {
			if !on {
				h.nq--
				h.quick[i] = h.quick[h.nq]
			}
			return
		}
	}
	if !on {
		return
	}
	if h.nq < maxQuickFlows {
		h.quick[h.nq] = flow
		h.nq++
		return
	}
	h.quick[h.next] = flow
	h.next = (h.next + 1) % maxQuickFlows
}

// Frame layout offsets (Ethernet, IPv4, TCP).
const (
	ethTypeOff  = 12
	ipOff       = 14
	tcpFlagACK  = 0x10
	tcpFlagMask = 0x3f // FIN SYN RST PSH ACK URG
)

// parseTCP4 reads the TCP fields of an Ethernet frame: its flow, its
// acknowledgement number, whether it carries an acknowledgement and
// whether it is a pure ACK (only the ACK flag, no payload). ok is false
// for anything but an unfragmented IPv4 TCP segment.
func parseTCP4(frame []byte) (flow tcpFlow, ack uint32, hasAck, pure, ok bool) {
	if len(frame) < ipOff+20 || binary.BigEndian.Uint16(frame[ethTypeOff:]) != 0x0800 {
		return flow, 0, false, false, false
	}
	ip := frame[ipOff:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || ip[9] != 6 || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 ||
		total > len(ip) || total < ihl+20 {
		return flow, 0, false, false, false
	}
	tcp := ip[ihl:total]
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || doff > len(tcp) {
		return flow, 0, false, false, false
	}
	copy(flow[0:8], ip[12:20])
	copy(flow[8:12], tcp[0:4])
	flags := tcp[13] & tcpFlagMask
	ack = binary.BigEndian.Uint32(tcp[8:])
	hasAck = flags&tcpFlagACK != 0
	pure = flags == tcpFlagACK && len(tcp) == doff
	return flow, ack, hasAck, pure, true
}

// seqGE reports whether sequence number a is at or after b (modulo 2^32).
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// find returns the index of flow's held ACK, or -1.
func (h *ackHold) find(flow tcpFlow) int {
	for i := range h.held {
		if h.held[i].flow == flow {
			return i
		}
	}
	return -1
}

// remove takes entry i out of the set.
func (h *ackHold) remove(i int) heldAck {
	a := h.held[i]
	last := len(h.held) - 1
	h.held[i] = h.held[last]
	h.held = h.held[:last]
	return a
}

// holdAck decides, for a frame about to be posted in transmit buffer b
// (length bytes with the virtio-net header), whether the driver holds it
// back, and drops or sends the held ACK of the frame's connection that
// the frame makes stale or must follow. It reports whether the frame was
// held. The caller holds txMu.
func (n *NIC) holdAck(b uint16, length int, frame []byte) bool {
	h := &n.acks
	if h.off {
		return false
	}
	flow, ack, hasAck, pure, ok := parseTCP4(frame)
	if !ok {
		return false
	}
	i := h.find(flow)
	if !pure {
		h.setQuick(flow, false) // it sends: hold its ACKs again
		if i >= 0 {
			a := h.remove(i)
			if hasAck && seqGE(ack, a.ack) {
				n.tx.free = append(n.tx.free, a.buf) // this frame acknowledges as much
				n.stats.txAcksElided.add(1)
			} else {
				n.postTx(a.buf, a.len) // keep the order
			}
		}
		return false
	}
	if i >= 0 {
		a := h.remove(i)
		n.postTx(a.buf, a.len)
		h.setQuick(flow, true) // a second ACK before an answer: a transfer in
		return false
	}
	if len(h.held) >= maxHeldAcks || h.isQuick(flow) {
		return false
	}
	h.held = append(h.held, heldAck{flow: flow, ack: ack, buf: b, len: length})
	if len(h.held) == 1 {
		d := h.delay
		if d == 0 {
			d = ackHoldDelay
		}
		if h.timer == nil {
			h.timer = time.AfterFunc(d, n.flushAcks)
		} else {
			h.timer.Reset(d)
		}
	}
	return true
}

// flushAcks sends every held ACK: the hold's timer runs it. Context:
// ring-3 kernel goroutine (the timer's).
func (n *NIC) flushAcks() {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	if n.sendHeldAcks() {
		n.tx.publish(n.notify)
	}
}

// sendHeldAcks posts every held ACK and reports whether there was one.
// The caller holds txMu.
func (n *NIC) sendHeldAcks() bool {
	h := &n.acks
	for _, a := range h.held {
		n.postTx(a.buf, a.len)
		n.stats.txAcksDelayed.add(1)
		h.setQuick(a.flow, true) // no answer came in time
	}
	sent := len(h.held) > 0
	h.held = h.held[:0]
	return sent
}

// stopHoldingAcks sends the held ACKs and holds none from now on: the
// program is exiting, and an ACK held then (of the peer's FIN, say) might
// never leave. Context: ring-3 kernel goroutine.
func (n *NIC) stopHoldingAcks() {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	n.acks.off = true
	if n.sendHeldAcks() {
		n.tx.publish(n.notify)
	}
}
