package knet

import "sync/atomic"

// NICStats are the NIC's counters since it was opened.
type NICStats struct {
	RxPackets, RxBytes uint64 // frames handed to the stack (bytes: Ethernet header included)
	TxPackets, TxBytes uint64 // frames queued to the device
	// RxMalformed counts received frames dropped because they were shorter
	// than the virtio-net and Ethernet headers or longer than the buffer.
	RxMalformed uint64
	// TxRingFull counts outbound frames dropped because every transmit
	// buffer was still in flight (TCP retransmits them).
	TxRingFull uint64
	// TxTooLong counts outbound frames dropped for not fitting a buffer.
	TxTooLong uint64
	// DeviceErrors counts used-ring entries naming no chain in flight.
	DeviceErrors uint64
	// Interrupts counts MSI-X interrupts: receive, transmit completion and
	// configuration change.
	RxInterrupts, TxInterrupts, ConfigInterrupts uint64
	// Checksum offload (nic_csum.go). RxCsumVouched counts received frames
	// whose transport checksum the device vouched for (netstack skipped
	// verifying it), RxCsumCompleted received NEEDS_CSUM frames whose
	// checksum the driver completed, TxCsumOffloaded frames sent for the
	// device to complete the checksum.
	RxCsumVouched, RxCsumCompleted, TxCsumOffloaded uint64
	// Held pure ACKs (nic_ackhold.go): TxAcksElided counts those dropped
	// because a later segment of the connection carried the same
	// acknowledgement, TxAcksDelayed those sent when the hold ended.
	TxAcksElided, TxAcksDelayed uint64
	// RxAcksMerged counts received pure ACKs not handed to the stack
	// because a later one of the same batch covered them (nic_ackmerge.go).
	RxAcksMerged uint64
	// TCP segmentation in the driver (nic_tso.go): TxSegmented counts TCP
	// packets cut into more than one frame, TxUnsegmentable those dropped
	// because their headers were not Ethernet, IP and TCP as expected.
	TxSegmented, TxUnsegmentable uint64
}

// counter is one statistic.
type counter struct{ v atomic.Uint64 }

func (c *counter) add(n uint64) { c.v.Add(n) }

type counters struct {
	rxPackets, rxBytes, txPackets, txBytes counter
	rxMalformed, txRingFull, txTooLong     counter
	deviceErrors                           counter
	rxIRQ, txIRQ, cfgIRQ                   counter
	rxCsumVouched, rxCsumCompleted         counter
	txCsumOffloaded                        counter
	txAcksElided, txAcksDelayed            counter
	rxAcksMerged                           counter
	txSegmented, txUnsegmentable           counter
}

// Stats returns a snapshot of the NIC's counters. Context: ring-3 kernel
// goroutine (any goroutine); never trap context.
func (n *NIC) Stats() NICStats {
	c := &n.stats
	return NICStats{
		RxPackets: c.rxPackets.v.Load(), RxBytes: c.rxBytes.v.Load(),
		TxPackets: c.txPackets.v.Load(), TxBytes: c.txBytes.v.Load(),
		RxMalformed: c.rxMalformed.v.Load(), TxRingFull: c.txRingFull.v.Load(),
		TxTooLong: c.txTooLong.v.Load(), DeviceErrors: c.deviceErrors.v.Load(),
		RxInterrupts: c.rxIRQ.v.Load(), TxInterrupts: c.txIRQ.v.Load(), ConfigInterrupts: c.cfgIRQ.v.Load(),
		RxCsumVouched: c.rxCsumVouched.v.Load(), RxCsumCompleted: c.rxCsumCompleted.v.Load(),
		TxCsumOffloaded: c.txCsumOffloaded.v.Load(),
		TxAcksElided:    c.txAcksElided.v.Load(), TxAcksDelayed: c.txAcksDelayed.v.Load(),
		RxAcksMerged: c.rxAcksMerged.v.Load(),
		TxSegmented:  c.txSegmented.v.Load(), TxUnsegmentable: c.txUnsegmentable.v.Load(),
	}
}
