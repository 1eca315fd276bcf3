package virtio

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// The split virtqueue (spec 2.7). One []byte holds, at known physical
// addresses:
//
//	descriptor table  16 bytes x size            (align 16)
//	available ring    flags, idx, ring[size], used_event   (align 2)
//	used ring         flags, idx, {id, len}[size], avail_event (align 4)
//
// The driver owns the descriptor table and the available ring, the device
// the used ring. Free descriptors are chained through their next fields.

// Descriptor flags.
const (
	descNext  = 1
	descWrite = 2
)

// Ring flags.
const (
	availNoInterrupt = 1 // in the available ring: driver asks for no interrupts
	usedNoNotify     = 1 // in the used ring: device asks for no notifications
)

const descSize = 16

// Layout returns the offsets of the available and used rings of a queue
// of size entries, and the bytes the whole queue needs.
func Layout(size int) (avail, used, total int) {
	avail = descSize * size
	used = (avail + 6 + 2*size + 3) &^ 3
	total = used + 6 + 8*size
	return
}

// Buf is one buffer of a chain: its physical address and length, and
// whether the device writes it (a receive buffer) or reads it.
type Buf struct {
	Addr  uint64
	Len   uint32
	Write bool
}

// Used is a chain the device has finished with: the head descriptor Add
// returned and the bytes the device wrote into the chain.
type Used struct {
	Head uint16
	Len  uint32
}

// Queue is the driver's side of one split virtqueue. It is not safe for
// concurrent use: the caller serialises Add, Publish and Harvest.
type Queue struct {
	mem         []byte
	phys        uint64
	size        uint16
	avail, used int
	freeHead    uint16
	nfree       int
	chainLen    []uint16 // per head: descriptors in flight in its chain (0: free)
	availIdx    uint16   // the next available-ring index (the driver's copy)
	published   uint16   // availIdx at the last Publish
	availFlags  uint16
	lastUsed    uint16 // the next used-ring index to harvest
}

// NewQueue lays out a queue of size entries (a power of two, at most
// 32768) in mem, whose first byte is at physical address phys (16-byte
// aligned). It zeroes mem.
func NewQueue(mem []byte, phys uint64, size int) (*Queue, error) {
	if size < 1 || size > 32768 || size&(size-1) != 0 {
		return nil, fmt.Errorf("virtio: queue size %d is not a power of two up to 32768", size)
	}
	if phys%16 != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(mem)))%16 != 0 {
		return nil, fmt.Errorf("virtio: queue memory is not 16-byte aligned")
	}
	avail, used, total := Layout(size)
	if len(mem) < total {
		return nil, fmt.Errorf("virtio: queue of %d entries needs %d bytes, got %d", size, total, len(mem))
	}
	mem = mem[:total]
	clear(mem)
	q := &Queue{mem: mem, phys: phys, size: uint16(size), avail: avail, used: used, nfree: size, chainLen: make([]uint16, size)}
	for i := 0; i < size; i++ {
		q.setNext(uint16(i), uint16(i+1)) // the last one's next is never followed
	}
	return q, nil
}

// Size is the number of entries.
func (q *Queue) Size() int { return int(q.size) }

// Free is the number of free descriptors.
func (q *Queue) Free() int { return q.nfree }

// DescAddr, DriverAddr and DeviceAddr are the physical addresses of the
// descriptor table, the available ring and the used ring.
func (q *Queue) DescAddr() uint64   { return q.phys }
func (q *Queue) DriverAddr() uint64 { return q.phys + uint64(q.avail) }
func (q *Queue) DeviceAddr() uint64 { return q.phys + uint64(q.used) }

func (q *Queue) desc(i uint16) []byte { return q.mem[int(i)*descSize : int(i+1)*descSize] }

func (q *Queue) next(i uint16) uint16 { return binary.LittleEndian.Uint16(q.desc(i)[14:]) }

func (q *Queue) setNext(i, n uint16) { binary.LittleEndian.PutUint16(q.desc(i)[14:], n) }

// Add places a chain of buffers (device-readable ones first) in the
// available ring and returns its head descriptor; the device sees it at
// the next Publish. It returns ErrQueueFull when fewer than len(bufs)
// descriptors are free.
func (q *Queue) Add(bufs ...Buf) (uint16, error) {
	if len(bufs) == 0 {
		return 0, fmt.Errorf("virtio: empty chain")
	}
	if len(bufs) > q.nfree {
		return 0, ErrQueueFull
	}
	head := q.freeHead
	d := head
	for i, b := range bufs {
		var flags uint16
		if b.Write {
			flags |= descWrite
		}
		if i < len(bufs)-1 {
			flags |= descNext // the free list already links d to the next free one
		}
		e := q.desc(d)
		binary.LittleEndian.PutUint64(e[0:], b.Addr)
		binary.LittleEndian.PutUint32(e[8:], b.Len)
		binary.LittleEndian.PutUint16(e[12:], flags)
		d = q.next(d)
	}
	q.freeHead = d
	q.nfree -= len(bufs)
	q.chainLen[head] = uint16(len(bufs))
	slot := q.avail + 4 + 2*int(q.availIdx&(q.size-1))
	binary.LittleEndian.PutUint16(q.mem[slot:], head)
	q.availIdx++
	return head, nil
}

// availWord is the available ring's flags and idx as one 32-bit word, so
// that publishing is a single atomic store (a full barrier on x86).
func (q *Queue) availWord() *uint32 { return (*uint32)(unsafe.Pointer(&q.mem[q.avail])) }

func (q *Queue) usedWord() *uint32 { return (*uint32)(unsafe.Pointer(&q.mem[q.used])) }

// Publish makes the chains added since the last Publish visible to the
// device (after all their descriptor and ring writes) and reports whether
// the device must be notified: something new was published and the device
// has not set VIRTQ_USED_F_NO_NOTIFY.
func (q *Queue) Publish() bool {
	atomic.StoreUint32(q.availWord(), uint32(q.availFlags)|uint32(q.availIdx)<<16)
	if q.availIdx == q.published {
		return false
	}
	q.published = q.availIdx
	return atomic.LoadUint32(q.usedWord())&usedNoNotify == 0
}

// SetInterrupts asks the device for used-buffer interrupts (the default)
// or asks it to leave them out (a hint the device may ignore). It takes
// effect at the next Publish.
func (q *Queue) SetInterrupts(on bool) {
	if on {
		q.availFlags &^= availNoInterrupt
	} else {
		q.availFlags |= availNoInterrupt
	}
}

// Pending reports whether the used ring holds chains not yet harvested.
func (q *Queue) Pending() bool {
	return uint16(atomic.LoadUint32(q.usedWord())>>16) != q.lastUsed
}

// Harvest takes the next chain the device has used and returns its
// descriptors to the free list; ok is false when there is none. A used
// entry naming a descriptor that is not the head of a chain in flight is
// consumed and reported as ErrBadUsed.
func (q *Queue) Harvest() (u Used, ok bool, err error) {
	if !q.Pending() { // an atomic load: the entry below is read after it
		return Used{}, false, nil
	}
	e := q.used + 4 + 8*int(q.lastUsed&(q.size-1))
	id := binary.LittleEndian.Uint32(q.mem[e:])
	n := binary.LittleEndian.Uint32(q.mem[e+4:])
	q.lastUsed++
	if id >= uint32(q.size) || q.chainLen[id] == 0 {
		return Used{}, true, fmt.Errorf("%w: id %d", ErrBadUsed, id)
	}
	head := uint16(id)
	last := head
	for k := uint16(1); k < q.chainLen[head]; k++ {
		last = q.next(last)
	}
	q.setNext(last, q.freeHead)
	q.freeHead = head
	q.nfree += int(q.chainLen[head])
	q.chainLen[head] = 0
	return Used{Head: head, Len: n}, true, nil
}
