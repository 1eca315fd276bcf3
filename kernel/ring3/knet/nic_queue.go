package knet

import (
	"fmt"

	"github.com/gometal/gometal/kernel/ring3/virtio"
)

// vq is one of the NIC's virtqueues with its packet buffers: buffer i is
// bufs[i*bufSize:] at physical address bufPhys + i*bufSize. Every chain
// is one descriptor holding one whole buffer.
type vq struct {
	index    uint16 // the queue's number on the device
	q        *virtio.Queue
	notifyAt int // offset of its notification register
	irq      irqSource
	bufs     []byte
	bufPhys  uint64
	bufOf    []uint16 // per head descriptor: the buffer in flight there
	free     []uint16 // buffers not in flight
}

// init creates queue index on the device (spec 4.1.5.1.3): its size
// (at most maxQueueSize), its rings and buffers in the DMA pool, its
// MSI-X entry vec routed to a new /dev/irq vector, and enables it.
func (v *vq) init(cfg virtio.CommonCfg, notify virtio.Notifier, dma *dmaMem, m *msix, index, vec uint16) error {
	v.index = index
	cfg.SelectQueue(index)
	max := int(cfg.QueueSize())
	if max == 0 {
		return fmt.Errorf("queue %d does not exist", index)
	}
	size := maxQueueSize
	for size > max {
		size /= 2
	}
	cfg.SetQueueSize(uint16(size))
	if err := v.alloc(dma, size); err != nil {
		return err
	}
	irq, err := openIRQ()
	if err != nil {
		return err
	}
	v.irq = irq
	m.route(int(vec), irq)
	if got := cfg.SetQueueMSIXVector(vec); got != vec {
		return fmt.Errorf("device rejected MSI-X entry %d for queue %d (read back %#x)", vec, index, got)
	}
	cfg.SetQueueAddrs(v.q.DescAddr(), v.q.DriverAddr(), v.q.DeviceAddr())
	if v.notifyAt, err = notify.Offset(cfg.QueueNotifyOff()); err != nil {
		return err
	}
	cfg.EnableQueue()
	return nil
}

// alloc lays out a queue of size descriptors and its buffers in the DMA
// pool, all buffers free.
func (v *vq) alloc(dma *dmaMem, size int) error {
	_, _, total := virtio.Layout(size)
	ring, ringPhys, err := dma.alloc(total, 4096)
	if err != nil {
		return err
	}
	if v.q, err = virtio.NewQueue(ring, ringPhys, size); err != nil {
		return err
	}
	if v.bufs, v.bufPhys, err = dma.alloc(size*bufSize, 4096); err != nil {
		return err
	}
	v.bufOf = make([]uint16, size)
	for i := size - 1; i >= 0; i-- {
		v.free = append(v.free, uint16(i))
	}
	return nil
}

// buf returns buffer i.
func (v *vq) buf(i uint16) []byte {
	return v.bufs[int(i)*bufSize : int(i+1)*bufSize : int(i+1)*bufSize]
}

// takeBuf takes a buffer that is not in flight; the caller checked that
// there is one (there is one per free descriptor).
func (v *vq) takeBuf() uint16 {
	b := v.free[len(v.free)-1]
	v.free = v.free[:len(v.free)-1]
	return b
}

// post adds the first length bytes of buffer b as a one-descriptor
// chain, device-written (receive) or device-read (transmit). A
// descriptor is free for each buffer not in flight, so it cannot fail.
func (v *vq) post(b uint16, length int, deviceWrites bool) {
	head, err := v.q.Add(virtio.Buf{Addr: v.bufPhys + uint64(b)*bufSize, Len: uint32(length), Write: deviceWrites})
	if err != nil {
		panic("knet: virtqueue out of step with its buffers: " + err.Error())
	}
	v.bufOf[head] = b
}

// complete harvests one used chain and returns its buffer and the bytes
// the device wrote into it. ok is false when there is none; a used entry
// that names no chain in flight is counted in bad and skipped.
func (v *vq) complete(bad *counter) (b uint16, n uint32, ok bool) {
	for {
		u, ok, err := v.q.Harvest()
		if !ok {
			return 0, 0, false
		}
		if err != nil {
			bad.add(1)
			continue
		}
		return v.bufOf[u.Head], u.Len, true
	}
}

// publish makes the posted chains visible and notifies the device if it
// asks for it.
func (v *vq) publish(notify notifier) {
	if v.q.Publish() {
		notify.Notify(v.notifyAt, v.index)
	}
}
