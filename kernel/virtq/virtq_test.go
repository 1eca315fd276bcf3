package virtq

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostQueue builds a queue of size entries over host memory: the rings
// in one buffer, the slots in another, the notification register a word.
func hostQueue(t *testing.T, size uint16, slot uint32) (*Queue, []byte, *uint32) {
	usedOff, total := Layout(int(size))
	ring := make([]byte, total+8)
	bufs := make([]byte, int(size)*int(slot))
	notify := new(uint32)
	q := &Queue{Index: 3, Size: size, Slot: slot, UsedOff: usedOff, MMIONote: true,
		Ring: uintptr(unsafe.Pointer(&ring[0])), RingPhys: 0x10000,
		Buf: uintptr(unsafe.Pointer(&bufs[0])), BufPhys: 0x20000,
		Notify: uintptr(unsafe.Pointer(notify))}
	t.Cleanup(func() { _, _, _ = ring[0], bufs[0], *notify }) // keep them alive
	return q, ring, notify
}

// TestLayout checks the ring layout against the virtio 1.2 split queue
// (descriptors 16 bytes each, then the available ring, the used ring
// 4-aligned).
func TestLayout(t *testing.T) {
	usedOff, total := Layout(8)
	assert.Equal(t, uintptr(152), usedOff, "16*8 descriptor bytes, 6+2*8 available ring, rounded up to 4")
	assert.Equal(t, usedOff+6+8*8, total)
	usedOff, _ = Layout(1)
	assert.Zero(t, usedOff%4)
}

// TestPutPublishReap puts slots until the queue is full, checks what the
// device would see, then returns them as a device would and reaps them.
func TestPutPublishReap(t *testing.T) {
	const size = 4
	q, ring, notify := hostQueue(t, size, 64)
	for i := 0; i < size; i++ {
		require.False(t, q.Full(), "slot %d", i)
		assert.Equal(t, uint16(i), q.Put(uint32(10+i)))
	}
	assert.True(t, q.Full())
	assert.Equal(t, size, q.InFlight)
	q.Publish()
	assert.Equal(t, uint32(3), *notify, "notified with the queue index")
	d := ring[16*2:]
	assert.Equal(t, uint64(0x20000+2*64), binary.LittleEndian.Uint64(d), "descriptor 2 points at slot 2")
	assert.Equal(t, uint32(12), binary.LittleEndian.Uint32(d[8:]))
	avail := ring[16*size:]
	assert.Equal(t, uint16(size), binary.LittleEndian.Uint16(avail[2:]), "available index")

	_, ok := peek(q)
	assert.False(t, ok, "nothing used yet")
	used := ring[q.UsedOff:]
	for i := 0; i < 2; i++ { // the device returns slots 0 and 1
		binary.LittleEndian.PutUint32(used[4+8*i:], uint32(i))
		binary.LittleEndian.PutUint32(used[8+8*i:], 0)
	}
	binary.LittleEndian.PutUint16(used[2:], 2)
	assert.True(t, q.ReapTx())
	assert.False(t, q.ReapTx(), "nothing more to reap")
	assert.Equal(t, size-2, q.InFlight)
	assert.False(t, q.Full(), "slot 0 is free again")
	assert.Equal(t, uint16(2), q.LastUsed)
}

// peek wraps PeekUsed for the test.
func peek(q *Queue) (uint16, bool) {
	s, _, ok := q.PeekUsed()
	return s, ok
}

// TestAnnounceThenDoorbell: Announce makes the slots visible (the
// available index) without writing the notification register, which
// RingDoorbell then writes with the queue's index, as Publish does both.
func TestAnnounceThenDoorbell(t *testing.T) {
	q, ring, notify := hostQueue(t, 4, 64)
	q.Put(10)
	q.Announce()
	avail := ring[16*4:]
	assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(avail[2:]), "available index")
	assert.Zero(t, *notify, "no doorbell yet")
	q.RingDoorbell()
	assert.Equal(t, uint32(3), *notify)
}
