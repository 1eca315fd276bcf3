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

// drainRx hands every received frame to the stack and reposts the
// buffers.
func (n *NIC) drainRx() {
	for {
		b, length, ok := n.rx.complete(&n.stats.deviceErrors)
		if !ok {
			break
		}
		n.receive(n.rx.buf(b), length)
		n.rx.post(b, bufSize, true)
	}
	n.rx.publish(n.notify)
}

// receive passes the frame in buf (length bytes written by the device,
// virtio-net header first) to the stack, or drops and counts it. With
// GUEST_CSUM the header's checksum flags are applied (nic_csum.go);
// without it the device sets none.
func (n *NIC) receive(buf []byte, length uint32) {
	if length < virtio.NetHdrSize+header.EthernetMinimumSize || length > uint32(len(buf)) {
		n.stats.rxMalformed.add(1)
		return
	}
	frame := buf[virtio.NetHdrSize:length]
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
