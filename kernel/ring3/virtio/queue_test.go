package virtio

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeDevice plays the device side of a queue on plain memory.
type fakeDevice struct {
	t                  *testing.T
	mem                []byte
	size               int
	avail, used        int
	lastAvail, usedIdx uint16
}

type desc struct {
	addr        uint64
	len         uint32
	flags, next uint16
}

func newQueue(t *testing.T, size int) (*Queue, *fakeDevice) {
	_, _, total := Layout(size)
	buf := make([]uint64, (total+7)/8+2) // 8-byte aligned backing
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	if uintptr(unsafe.Pointer(&mem[0]))%16 != 0 {
		mem = mem[8:]
	}
	q, err := NewQueue(mem, 0x100000, size)
	require.NoError(t, err)
	a, u, _ := Layout(size)
	return q, &fakeDevice{t: t, mem: mem, size: size, avail: a, used: u}
}

func (d *fakeDevice) desc(i uint16) desc {
	e := d.mem[int(i)*16:]
	return desc{binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint16(e[12:]), binary.LittleEndian.Uint16(e[14:])}
}

func (d *fakeDevice) availFlags() uint16 { return binary.LittleEndian.Uint16(d.mem[d.avail:]) }
func (d *fakeDevice) availIdx() uint16   { return binary.LittleEndian.Uint16(d.mem[d.avail+2:]) }

// pop takes the next available chain, or reports false.
func (d *fakeDevice) pop() (head uint16, chain []desc, ok bool) {
	if d.lastAvail == d.availIdx() {
		return 0, nil, false
	}
	head = binary.LittleEndian.Uint16(d.mem[d.avail+4+2*(int(d.lastAvail)%d.size):])
	d.lastAvail++
	for i := head; ; {
		x := d.desc(i)
		chain = append(chain, x)
		if x.flags&descNext == 0 {
			break
		}
		i = x.next
		require.Less(d.t, len(chain), d.size+1, "descriptor loop")
	}
	return head, chain, true
}

// push returns a chain to the driver through the used ring.
func (d *fakeDevice) push(head uint16, n uint32) {
	e := d.used + 4 + 8*(int(d.usedIdx)%d.size)
	binary.LittleEndian.PutUint32(d.mem[e:], uint32(head))
	binary.LittleEndian.PutUint32(d.mem[e+4:], n)
	d.usedIdx++
	binary.LittleEndian.PutUint16(d.mem[d.used+2:], d.usedIdx)
}

func TestLayout(t *testing.T) {
	a, u, total := Layout(128)
	assert.Equal(t, 2048, a)
	assert.Equal(t, 2048+6+256+2, u) // rounded up to 4
	assert.Equal(t, u+6+1024, total)
	assert.Zero(t, u%4)
	_, err := NewQueue(make([]byte, total), 0, 100)
	assert.Error(t, err, "not a power of two")
	_, err = NewQueue(make([]byte, 10), 0, 128)
	assert.Error(t, err, "too small")
}

func TestAddAppearsInAvailRing(t *testing.T) {
	q, d := newQueue(t, 8)
	assert.Equal(t, uint64(0x100000), q.DescAddr())
	assert.Equal(t, uint64(0x100000+d.avail), q.DriverAddr())
	assert.Equal(t, uint64(0x100000+d.used), q.DeviceAddr())

	h1, err := q.Add(Buf{Addr: 0x2000, Len: 2048, Write: true})
	require.NoError(t, err)
	h2, err := q.Add(Buf{Addr: 0x3000, Len: 12}, Buf{Addr: 0x4000, Len: 100}, Buf{Addr: 0x5000, Len: 64, Write: true})
	require.NoError(t, err)
	assert.Equal(t, 4, q.Free())
	assert.Equal(t, uint16(0), d.availIdx(), "not visible before Publish")

	assert.True(t, q.Publish(), "the device wants notifications")
	assert.Equal(t, uint16(2), d.availIdx())
	assert.False(t, q.Publish(), "nothing new")

	head, chain, ok := d.pop()
	require.True(t, ok)
	assert.Equal(t, h1, head)
	assert.Equal(t, []desc{{0x2000, 2048, descWrite, chain[0].next}}, chain)
	head, chain, ok = d.pop()
	require.True(t, ok)
	assert.Equal(t, h2, head)
	require.Len(t, chain, 3)
	assert.Equal(t, uint64(0x3000), chain[0].addr)
	assert.Equal(t, uint16(descNext), chain[0].flags)
	assert.Equal(t, uint32(100), chain[1].len)
	assert.Equal(t, uint16(descNext), chain[1].flags)
	assert.Equal(t, uint16(descWrite), chain[2].flags)
	_, _, ok = d.pop()
	assert.False(t, ok)
}

func TestKickSuppressionAndInterruptFlag(t *testing.T) {
	q, d := newQueue(t, 4)
	binary.LittleEndian.PutUint16(d.mem[d.used:], usedNoNotify)
	_, err := q.Add(Buf{Addr: 1, Len: 1})
	require.NoError(t, err)
	assert.False(t, q.Publish(), "device set NO_NOTIFY")
	assert.Equal(t, uint16(1), d.availIdx())

	q.SetInterrupts(false)
	q.Publish()
	assert.Equal(t, uint16(availNoInterrupt), d.availFlags())
	q.SetInterrupts(true)
	q.Publish()
	assert.Equal(t, uint16(0), d.availFlags())
}

func TestHarvestRecyclesDescriptors(t *testing.T) {
	q, d := newQueue(t, 4)
	_, ok, err := q.Harvest()
	assert.False(t, ok)
	assert.NoError(t, err)

	heads := map[uint16]bool{}
	for i := 0; i < 4; i++ {
		h, err := q.Add(Buf{Addr: uint64(i) << 12, Len: 2048, Write: true})
		require.NoError(t, err)
		heads[h] = true
	}
	assert.Len(t, heads, 4, "distinct descriptors")
	_, err = q.Add(Buf{Addr: 0, Len: 1})
	assert.ErrorIs(t, err, ErrQueueFull)
	q.Publish()

	// The device completes them out of order.
	var popped []uint16
	for {
		h, _, ok := d.pop()
		if !ok {
			break
		}
		popped = append(popped, h)
	}
	require.Len(t, popped, 4)
	d.push(popped[2], 60)
	d.push(popped[0], 1514)
	u, ok, err := q.Harvest()
	require.True(t, ok)
	require.NoError(t, err)
	assert.Equal(t, Used{popped[2], 60}, u)
	u, ok, err = q.Harvest()
	require.True(t, ok)
	require.NoError(t, err)
	assert.Equal(t, Used{popped[0], 1514}, u)
	_, ok, _ = q.Harvest()
	assert.False(t, ok)
	assert.Equal(t, 2, q.Free())

	// The freed descriptors are reused.
	h, err := q.Add(Buf{Addr: 0x9000, Len: 10}, Buf{Addr: 0xa000, Len: 20})
	require.NoError(t, err)
	assert.Contains(t, []uint16{popped[0], popped[2]}, h)
	assert.Equal(t, 0, q.Free())
	q.Publish()
	_, chain, ok := d.pop()
	require.True(t, ok)
	require.Len(t, chain, 2)
	assert.Equal(t, uint64(0xa000), chain[1].addr)
	d.push(h, 0)
	_, _, err = q.Harvest()
	require.NoError(t, err)
	assert.Equal(t, 2, q.Free(), "a two-descriptor chain frees two")
}

func TestHarvestRejectsBadIDs(t *testing.T) {
	q, d := newQueue(t, 4)
	d.push(7, 0) // out of range
	_, ok, err := q.Harvest()
	assert.True(t, ok)
	assert.ErrorIs(t, err, ErrBadUsed)
	d.push(1, 0) // in range, not in flight
	_, _, err = q.Harvest()
	assert.ErrorIs(t, err, ErrBadUsed)
	assert.Equal(t, 4, q.Free())
}

// TestWrapAround runs the 16-bit ring indices past 65535 with a
// receive-style loop: every harvested buffer is posted again at once.
func TestWrapAround(t *testing.T) {
	const size = 8
	q, d := newQueue(t, size)
	for i := 0; i < size; i++ {
		_, err := q.Add(Buf{Addr: uint64(i) << 12, Len: 2048, Write: true})
		require.NoError(t, err)
	}
	q.Publish()
	owner := map[uint16]uint64{} // head -> buffer address the device saw
	for round := 0; round < 70000; round++ {
		h, chain, ok := d.pop()
		require.True(t, ok, "round %d: the ring never runs dry", round)
		owner[h] = chain[0].addr
		d.push(h, uint32(round%2048))
		u, ok, err := q.Harvest()
		require.True(t, ok)
		require.NoError(t, err)
		require.Equal(t, h, u.Head)
		require.Equal(t, uint32(round%2048), u.Len)
		_, err = q.Add(Buf{Addr: owner[h], Len: 2048, Write: true})
		require.NoError(t, err)
		q.Publish()
	}
	rounds := 70000
	assert.Equal(t, uint16(rounds+size), d.availIdx())
	assert.Equal(t, uint16(rounds), q.lastUsed)
	assert.Equal(t, 0, q.Free())
}
