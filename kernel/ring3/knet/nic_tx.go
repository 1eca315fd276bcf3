package knet

import (
	"github.com/gometal/gometal/kernel/ring3/virtio"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Transmitting. WritePackets copies each frame, after a virtio-net header
// (zero, or asking the device to complete the TCP or UDP checksum when
// VIRTIO_NET_F_CSUM is negotiated: nic_csum.go), into a free transmit
// buffer and posts it; one notification covers the batch (the stack's
// FIFO queueing discipline hands down batches: knet.go). Buffers come
// back when the device has sent them: WritePackets reclaims them first,
// and the transmit-completion goroutine on the queue's interrupt, which
// is asked for only while fewer than a quarter of the buffers are free. When every
// buffer is in flight the frame is dropped and counted (TxRingFull)
// rather than queued: the stack's TCP retransmits. (The queueing
// discipline ignores what WritePackets returns; a sender sees
// ErrNoBufferSpace only when the discipline's own queue is full.)

// writePackets implements stack.LinkWriter for the endpoint. Context:
// ring-3 kernel goroutine (any of the stack's goroutines).
func (n *NIC) writePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n.txMu.Lock()
	defer n.txMu.Unlock()
	n.reclaimTx()
	sent, full, long := 0, 0, 0
	for _, pkt := range pkts.AsSlice() {
		size := virtio.NetHdrSize + pkt.Size()
		if size > bufSize {
			n.stats.txTooLong.add(1)
			long++
			continue
		}
		if len(n.tx.free) == 0 {
			n.stats.txRingFull.add(1)
			full++
			continue
		}
		b := n.tx.takeBuf()
		buf := n.tx.buf(b)
		off := virtio.NetHdrSize
		for _, s := range pkt.AsSlices() {
			off += copy(buf[off:], s)
		}
		var h virtio.NetHdr
		if n.features&virtio.NetFeatureCsum != 0 {
			if h = txChecksumHdr(buf[virtio.NetHdrSize:off]); h.Flags != 0 {
				n.stats.txCsumOffloaded.add(1)
			}
		}
		h.Encode(buf)
		sent++
		if n.holdAck(b, off, buf[virtio.NetHdrSize:off]) {
			continue // sent later, or never if the answer carries it (nic_ackhold.go)
		}
		n.postTx(b, off)
	}
	if sent > 0 {
		// Completions matter only when buffers run short: with plenty
		// free, the next send reclaims them and the device need not
		// interrupt (it halves the interrupts of a bulk transfer).
		n.tx.q.SetInterrupts(len(n.tx.free) < len(n.tx.bufOf)/4)
		n.tx.publish(n.notify)
		return sent, nil
	}
	if full > 0 {
		return 0, &tcpip.ErrNoBufferSpace{}
	}
	if long > 0 {
		return 0, &tcpip.ErrMessageTooLong{}
	}
	return 0, nil
}

// postTx posts transmit buffer b holding length bytes (the virtio-net
// header first). The caller holds txMu and publishes.
func (n *NIC) postTx(b uint16, length int) {
	n.tx.post(b, length, false)
	n.stats.txPackets.add(1)
	n.stats.txBytes.add(uint64(length - virtio.NetHdrSize))
}

// reclaimTx takes back the transmit buffers the device has finished
// with. The caller holds txMu.
func (n *NIC) reclaimTx() {
	for {
		b, _, ok := n.tx.complete(&n.stats.deviceErrors)
		if !ok {
			return
		}
		n.tx.free = append(n.tx.free, b)
	}
}

// txLoop is the transmit-completion goroutine. Context: ring-3 kernel
// goroutine.
func (n *NIC) txLoop() {
	for {
		c, err := n.tx.irq.wait()
		if err != nil {
			logf("%s: transmit interrupt: %v; completions now reclaimed only when sending", n.name, err)
			return
		}
		n.stats.txIRQ.add(c)
		n.txMu.Lock()
		n.reclaimTx()
		n.txMu.Unlock()
	}
}
