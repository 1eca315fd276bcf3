package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
)

// The virtio console's split virtqueues (virtio 1.2, 2.7), kept by the
// kernel itself: the console works in trap context, where the goroutine
// drivers' package (kernel/ring3/virtio) cannot run. Each queue has one page
// for its rings and a fixed buffer per descriptor ("slot"): descriptor i
// always points at slot i, every chain is one descriptor, and the driver
// hands slots out in ring order, so a slot is reused only once the device
// has returned it.
const (
	vqMaxSize   = 32
	vqDescFlagW = 2 // VIRTQ_DESC_F_WRITE: the device writes the buffer
)

// vconQueue is the driver's side of one queue.
type vconQueue struct {
	index    uint16  // the device's queue number
	size     uint16  // entries, a power of two up to vqMaxSize
	ring     uintptr // virtual address of the descriptor table
	ringPhys uint64
	usedOff  uintptr // offset of the used ring from ring
	buf      uintptr // virtual address of slot 0
	bufPhys  uint64
	slot     uint32  // bytes per slot
	notify   uintptr // virtual address of the notification register
	mmioNote bool    // notify with a 32-bit write of index (virtio-mmio)
	availIdx uint16  // the next available-ring index
	lastUsed uint16  // the next used-ring index to look at
	inFlight int     // slots the device holds
	busy     [vqMaxSize]bool
	lens     [vqMaxSize]uint32 // receive queues: bytes the device wrote
	rx       bool              // the device writes the buffers
}

// vqLayout returns the offset of the used ring and the ring bytes of a
// queue of size entries. Context: any; does not allocate.
func vqLayout(size int) (usedOff, total uintptr) {
	avail := uintptr(16 * size)
	usedOff = (avail + 6 + 2*uintptr(size) + 3) &^ 3
	return usedOff, usedOff + 6 + 8*uintptr(size)
}

// slotAddr is the virtual address of slot i. Context: any.
func (q *vconQueue) slotAddr(i uint16) uintptr { return q.buf + uintptr(i)*uintptr(q.slot) }

// full reports whether the next slot is still with the device.
// Context: any; does not allocate.
func (q *vconQueue) full() bool { return q.busy[q.availIdx&(q.size-1)] }

// put hands the next slot, holding n bytes (a receive buffer: its whole
// size), to the device; it becomes visible at publish. The caller checked
// full. Context: any; does not allocate.
func (q *vconQueue) put(n uint32) uint16 {
	i := q.availIdx & (q.size - 1)
	d := q.ring + uintptr(i)*16
	*(*uint64)(cpu.Pointer(d)) = q.bufPhys + uint64(i)*uint64(q.slot)
	*(*uint32)(cpu.Pointer(d + 8)) = n
	var flags uint16
	if q.rx {
		flags = vqDescFlagW
	}
	*(*uint16)(cpu.Pointer(d + 12)) = flags
	*(*uint16)(cpu.Pointer(d + 14)) = 0
	avail := q.ring + 16*uintptr(q.size)
	*(*uint16)(cpu.Pointer(avail + 4 + 2*uintptr(i))) = i
	q.busy[i] = true
	q.inFlight++
	q.availIdx++
	return i
}

// publish makes the slots put so far visible to the device and notifies
// it. Context: any; does not allocate.
func (q *vconQueue) publish() {
	avail := q.ring + 16*uintptr(q.size)
	// flags 0 and idx in one atomic store: ordered after the ring writes.
	atomic.StoreUint32((*uint32)(cpu.Pointer(avail)), uint32(q.availIdx)<<16)
	if q.mmioNote {
		atomic.StoreUint32((*uint32)(cpu.Pointer(q.notify)), uint32(q.index))
		return
	}
	*(*uint16)(cpu.Pointer(q.notify)) = q.index
}

// peekUsed returns the next slot the device returned and the bytes it
// wrote, without consuming it. Context: any; does not allocate.
func (q *vconQueue) peekUsed() (slot uint16, n uint32, ok bool) {
	used := q.ring + q.usedOff
	if uint16(atomic.LoadUint32((*uint32)(cpu.Pointer(used)))>>16) == q.lastUsed {
		return 0, 0, false
	}
	e := used + 4 + 8*uintptr(q.lastUsed&(q.size-1))
	id := *(*uint32)(cpu.Pointer(e))
	n = *(*uint32)(cpu.Pointer(e + 4))
	return uint16(id & uint32(q.size-1)), n, true
}

// popUsed consumes the entry peekUsed returned and frees its slot.
// Context: any; does not allocate.
func (q *vconQueue) popUsed(slot uint16) {
	q.lastUsed++
	if q.busy[slot] {
		q.busy[slot] = false
		q.inFlight--
	}
}

// reapTx frees every transmitted slot and reports whether any was.
// Context: any; does not allocate.
func (q *vconQueue) reapTx() bool {
	freed := false
	for {
		s, _, ok := q.peekUsed()
		if !ok {
			return freed
		}
		q.popUsed(s)
		freed = true
	}
}
