// Package virtq is the virtio console's split virtqueues (virtio 1.2,
// 2.7), kept by the kernel itself: the console works in trap context,
// where the goroutine drivers' package (kernel/ring3/virtio) cannot run.
// Each queue has one page for its rings and a fixed buffer per descriptor
// ("slot"): descriptor i always points at slot i, every chain is one
// descriptor, and the driver hands slots out in ring order, so a slot is
// reused only once the device has returned it.
package virtq

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
)

// MaxSize is the most entries a queue has.
const (
	MaxSize       = 32
	descFlagWrite = 2 // VIRTQ_DESC_F_WRITE: the device writes the buffer
)

// Queue is the driver's side of one queue.
type Queue struct {
	Index    uint16  // the device's queue number
	Size     uint16  // entries, a power of two up to MaxSize
	Ring     uintptr // virtual address of the descriptor table
	RingPhys uint64
	UsedOff  uintptr // offset of the used ring from ring
	Buf      uintptr // virtual address of slot 0
	BufPhys  uint64
	Slot     uint32  // bytes per slot
	Notify   uintptr // virtual address of the notification register
	MMIONote bool    // notify with a 32-bit write of index (virtio-mmio)
	AvailIdx uint16  // the next available-ring index
	LastUsed uint16  // the next used-ring index to look at
	InFlight int     // slots the device holds
	Busy     [MaxSize]bool
	Lens     [MaxSize]uint32 // receive queues: bytes the device wrote
	RX       bool            // the device writes the buffers
}

// Layout returns the offset of the used ring and the ring bytes of a
// queue of size entries. Context: any; does not allocate.
func Layout(size int) (usedOff, total uintptr) {
	avail := uintptr(16 * size)
	usedOff = (avail + 6 + 2*uintptr(size) + 3) &^ 3
	return usedOff, usedOff + 6 + 8*uintptr(size)
}

// SlotAddr is the virtual address of slot i. Context: any.
func (q *Queue) SlotAddr(i uint16) uintptr { return q.Buf + uintptr(i)*uintptr(q.Slot) }

// Full reports whether the next slot is still with the device.
// Context: any; does not allocate.
func (q *Queue) Full() bool { return q.Busy[q.AvailIdx&(q.Size-1)] }

// Put hands the next slot, holding n bytes (a receive buffer: its whole
// size), to the device; it becomes visible at Publish or Announce. The caller checked
// Full. Context: any; does not allocate.
func (q *Queue) Put(n uint32) uint16 {
	i := q.AvailIdx & (q.Size - 1)
	d := q.Ring + uintptr(i)*16
	*(*uint64)(cpu.Pointer(d)) = q.BufPhys + uint64(i)*uint64(q.Slot)
	*(*uint32)(cpu.Pointer(d + 8)) = n
	var flags uint16
	if q.RX {
		flags = descFlagWrite
	}
	*(*uint16)(cpu.Pointer(d + 12)) = flags
	*(*uint16)(cpu.Pointer(d + 14)) = 0
	avail := q.Ring + 16*uintptr(q.Size)
	*(*uint16)(cpu.Pointer(avail + 4 + 2*uintptr(i))) = i
	q.Busy[i] = true
	q.InFlight++
	q.AvailIdx++
	return i
}

// Publish makes the slots put so far visible to the device and notifies
// it. Context: any; does not allocate.
func (q *Queue) Publish() {
	q.Announce()
	q.RingDoorbell()
}

// Announce makes the slots put so far visible to the device, without
// notifying it: the device may take them whenever it looks, and takes
// them at the latest when RingDoorbell tells it to look.
// Context: any, under the lock that covers the queue; does not allocate.
func (q *Queue) Announce() {
	avail := q.Ring + 16*uintptr(q.Size)
	// flags 0 and idx in one atomic store: ordered after the ring writes.
	atomic.StoreUint32((*uint32)(cpu.Pointer(avail)), uint32(q.AvailIdx)<<16)
}

// RingDoorbell tells the device to look at the queue's available ring.
// It writes only the queue's notification register, fixed at setup, so
// it needs no lock: under emulation the write is where the host takes
// the slots (QEMU runs the device's output in the writing vCPU), too
// slow to make other CPUs wait for it. Context: any; does not allocate.
func (q *Queue) RingDoorbell() {
	if q.MMIONote {
		atomic.StoreUint32((*uint32)(cpu.Pointer(q.Notify)), uint32(q.Index))
		return
	}
	*(*uint16)(cpu.Pointer(q.Notify)) = q.Index
}

// PeekUsed returns the next slot the device returned and the bytes it
// wrote, without consuming it. Context: any; does not allocate.
func (q *Queue) PeekUsed() (slot uint16, n uint32, ok bool) {
	used := q.Ring + q.UsedOff
	if uint16(atomic.LoadUint32((*uint32)(cpu.Pointer(used)))>>16) == q.LastUsed {
		return 0, 0, false
	}
	e := used + 4 + 8*uintptr(q.LastUsed&(q.Size-1))
	id := *(*uint32)(cpu.Pointer(e))
	n = *(*uint32)(cpu.Pointer(e + 4))
	return uint16(id & uint32(q.Size-1)), n, true
}

// HasUsed reports whether the device returned a slot not yet consumed.
// Context: any; does not allocate.
func (q *Queue) HasUsed() bool {
	_, _, ok := q.PeekUsed()
	return ok
}

// PopUsed consumes the entry PeekUsed returned and frees its slot.
// Context: any; does not allocate.
func (q *Queue) PopUsed(slot uint16) {
	q.LastUsed++
	if q.Busy[slot] {
		q.Busy[slot] = false
		q.InFlight--
	}
}

// ReapTx frees every transmitted slot and reports whether any was.
// Context: any; does not allocate.
func (q *Queue) ReapTx() bool {
	freed := false
	for {
		s, _, ok := q.PeekUsed()
		if !ok {
			return freed
		}
		q.PopUsed(s)
		freed = true
	}
}
