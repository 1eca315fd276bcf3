package knet

import (
	"time"

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
// rather than queued: the stack's TCP retransmits. (A TCP packet the
// driver segments first waits a little for buffers: waitTxFree.) (The queueing
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
		if isTCPGSO(pkt) {
			s, f, l := n.writeSegments(pkt)
			sent, full, long = sent+s, full+f, long+l
			continue
		}
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
		n.sendFrame(b, off)
		sent++
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

// writeSegments writes a TCP packet gVisor left for the driver to
// segment (nic_tso.go), one frame per MSS of its payload, and returns
// how many frames it sent and dropped for a full ring or for their size.
// The caller holds txMu.
func (n *NIC) writeSegments(pkt *stack.PacketBuffer) (sent, full, long int) {
	var s tcpSegmenter // its own: waitTxFree lets go of txMu
	swCsum := n.features&virtio.NetFeatureCsum == 0 || pkt.GSOOptions.Type == stack.GSOTCPv6
	if !s.init(pkt, swCsum) {
		n.stats.txUnsegmentable.add(1)
		return 0, 0, 1
	}
	count := s.count()
	if count > 1 {
		n.stats.txSegmented.add(1)
	}
	for range count {
		if virtio.NetHdrSize+s.frameLen() > bufSize {
			n.stats.txTooLong.add(uint64(count - s.frames))
			return sent, full, long + count - s.frames
		}
		if len(n.tx.free) == 0 && !n.waitTxFree() {
			n.stats.txRingFull.add(uint64(count - s.frames))
			return sent, full + count - s.frames, long
		}
		b := n.tx.takeBuf()
		buf := n.tx.buf(b)
		off := virtio.NetHdrSize + s.next(buf[virtio.NetHdrSize:])
		n.sendFrame(b, off)
		sent++
	}
	return sent, full, long
}

// Waiting for transmit buffers. One call now carries up to 47 packets of
// up to 45 frames each, more than the ring holds (128 buffers), so a
// packet that finds every buffer in flight does not drop its frames at
// once, which would be loss the guest makes itself on every large burst:
// the frames posted so far are published (the device starts on them)
// and the driver takes finished buffers back every txFullPoll, for up to
// txFullWait, before it gives up and drops the rest (TxRingFull).
const (
	txFullPoll = 50 * time.Microsecond
	txFullWait = 5 * time.Millisecond
)

// waitTxFree publishes the posted frames and waits, with txMu released
// between looks, until the device has finished with some transmit
// buffer. It reports false after txFullWait without one (the device is
// not taking frames). The caller holds txMu.
func (n *NIC) waitTxFree() bool {
	n.tx.publish(n.notify)
	sleep := n.sleepTx
	if sleep == nil {
		sleep = time.Sleep
	}
	for waited := time.Duration(0); waited < txFullWait; waited += txFullPoll {
		n.txMu.Unlock()
		sleep(txFullPoll)
		n.txMu.Lock()
		if n.reclaimTx(); len(n.tx.free) > 0 {
			return true
		}
	}
	return false
}

// sendFrame writes the virtio-net header of the frame in transmit buffer
// b (off bytes with that header) and posts it, unless the ACK hold keeps
// it (nic_ackhold.go). The caller holds txMu and publishes.
func (n *NIC) sendFrame(b uint16, off int) {
	buf := n.tx.buf(b)
	var h virtio.NetHdr
	if n.features&virtio.NetFeatureCsum != 0 {
		if h = txChecksumHdr(buf[virtio.NetHdrSize:off]); h.Flags != 0 {
			n.stats.txCsumOffloaded.add(1)
		}
	}
	h.Encode(buf)
	if n.holdAck(b, off, buf[virtio.NetHdrSize:off]) {
		return // sent later, or never if the answer carries it
	}
	n.postTx(b, off)
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
