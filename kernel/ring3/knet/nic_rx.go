package knet

import (
	"github.com/gometal/gometal/kernel/ring3/virtio"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Receiving. One goroutine owns the receive queue: it sleeps in a read of
// the queue's interrupt descriptor (parked in the netpoller, no polling),
// then harvests every used buffer, copies its frame into a packet for the
// stack and posts the buffer again at once, so the ring never loses a
// descriptor. Reading the interrupt count before harvesting closes the
// race with an interrupt that arrives during the harvest: it makes the
// next read return at once.

// rxLoop is the receive goroutine. Context: ring-3 kernel goroutine.
func (n *NIC) rxLoop() {
	for {
		c, err := n.rx.irq.wait()
		if err != nil {
			logf("%s: receive interrupt: %v; receive stopped", n.name, err)
			return
		}
		n.stats.rxIRQ.add(c)
		n.drainRx()
	}
}

// drainRx takes every received frame, hands them to the stack but for
// the pure ACKs a later one of the batch covers (nic_ackmerge.go), and
// reposts the buffers. Only rxLoop calls it: the batch's scratch slices
// are its own.
func (n *NIC) drainRx() {
	if size := len(n.rx.bufOf); cap(n.rxBufs) < size {
		n.rxBufs, n.rxLens = make([]uint16, 0, size), make([]uint32, 0, size)
		n.rxFrames, n.rxMerged = make([][]byte, 0, size), make([]bool, size)
	}
	bufs, lens, frames := n.rxBufs[:0], n.rxLens[:0], n.rxFrames[:0]
	for {
		b, length, ok := n.rx.complete(&n.stats.deviceErrors)
		if !ok {
			break
		}
		bufs, lens = append(bufs, b), append(lens, length)
		frames = append(frames, rxFrame(n.rx.buf(b), length))
	}
	if len(frames) > len(n.rxMerged) { // not while only posted buffers complete
		n.rxMerged = make([]bool, len(frames))
	}
	merged := n.rxMerged[:len(frames)]
	n.stats.rxAcksMerged.add(uint64(markMergedAcks(frames, merged)))
	for i, b := range bufs {
		if !merged[i] {
			n.receive(n.rx.buf(b), lens[i])
		}
		n.rx.post(b, bufSize, true)
	}
	clear(frames) // no references into the buffers until the next batch
	n.rx.publish(n.notify)
}

// rxFrame returns the Ethernet frame in buf, a receive buffer the device
// wrote length bytes of (virtio-net header first), or nil when length is
// out of range (receive drops and counts it).
func rxFrame(buf []byte, length uint32) []byte {
	if length < virtio.NetHdrSize+header.EthernetMinimumSize || length > uint32(len(buf)) {
		return nil
	}
	return buf[virtio.NetHdrSize:length]
}

// receive passes the frame in buf (length bytes written by the device,
// virtio-net header first) to the stack, or drops and counts it. With
// GUEST_CSUM the header's checksum flags are applied (nic_csum.go);
// without it the device sets none.
func (n *NIC) receive(buf []byte, length uint32) {
	frame := rxFrame(buf, length)
	if frame == nil {
		n.stats.rxMalformed.add(1)
		return
	}
	vouched := false
	if n.features&virtio.NetFeatureGuestCsum != 0 {
		h, _ := virtio.DecodeNetHdr(buf)
		v, completed, ok := rxChecksum(h, frame)
		if !ok {
			n.stats.rxMalformed.add(1)
			return
		}
		vouched = v
		if vouched {
			n.stats.rxCsumVouched.add(1)
		}
		if completed {
			n.stats.rxCsumCompleted.add(1)
		}
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)}) // copies
	defer pkt.DecRef()
	if n.ep.deliver(pkt, vouched) {
		n.stats.rxPackets.add(1)
		n.stats.rxBytes.add(uint64(len(frame)))
	}
}
