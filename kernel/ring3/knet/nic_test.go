package knet

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The NIC's receive and transmit paths on plain memory: the test plays
// the device through the rings (no PCI, no interrupts).

// aligned returns n zeroed bytes at a 16-byte aligned address.
func aligned(n int) []byte {
	b := make([]byte, n+16)
	off := (16 - int(uintptr(unsafe.Pointer(&b[0]))%16)) % 16
	return b[off : off+n]
}

// fakeRing is the device's view of one queue.
type fakeRing struct {
	mem                []byte
	size               int
	avail, used        int
	lastAvail, usedIdx uint16
}

// pop takes the next available one-descriptor chain.
func (r *fakeRing) pop(t *testing.T) (head uint16, addr uint64, length uint32, flags uint16) {
	t.Helper()
	require.NotEqual(t, r.lastAvail, binary.LittleEndian.Uint16(r.mem[r.avail+2:]), "nothing available")
	head = binary.LittleEndian.Uint16(r.mem[r.avail+4+2*(int(r.lastAvail)%r.size):])
	r.lastAvail++
	d := r.mem[int(head)*16:]
	return head, binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint32(d[8:]), binary.LittleEndian.Uint16(d[12:])
}

func (r *fakeRing) push(head uint16, n uint32) {
	e := r.used + 4 + 8*(int(r.usedIdx)%r.size)
	binary.LittleEndian.PutUint32(r.mem[e:], uint32(head))
	binary.LittleEndian.PutUint32(r.mem[e+4:], n)
	r.usedIdx++
	binary.LittleEndian.PutUint16(r.mem[r.used+2:], r.usedIdx)
}

func (r *fakeRing) availIdx() uint16 { return binary.LittleEndian.Uint16(r.mem[r.avail+2:]) }

func newTestVQ(t *testing.T, index uint16, size int, phys uint64) (vq, *fakeRing) {
	_, _, total := virtio.Layout(size)
	mem := aligned(total)
	q, err := virtio.NewQueue(mem, phys, size)
	require.NoError(t, err)
	v := vq{index: index, q: q, notifyAt: 4 * int(index), bufs: aligned(size * bufSize), bufPhys: phys + 0x10000, bufOf: make([]uint16, size)}
	for i := size - 1; i >= 0; i-- {
		v.free = append(v.free, uint16(i))
	}
	a, u, _ := virtio.Layout(size)
	return v, &fakeRing{mem: mem, size: size, avail: a, used: u}
}

type fakeDispatcher struct {
	protos []tcpip.NetworkProtocolNumber
	types  []tcpip.PacketType
	data   [][]byte
}

func (d *fakeDispatcher) DeliverNetworkPacket(p tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	d.protos = append(d.protos, p)
	d.types = append(d.types, pkt.PktType)
	d.data = append(d.data, pkt.Data().AsRange().ToSlice())
}

func (d *fakeDispatcher) DeliverLinkPacket(tcpip.NetworkProtocolNumber, *stack.PacketBuffer) {}

var testMAC = tcpip.LinkAddress("\x52\x54\x00\x12\x34\x56")

// newTestNIC is a NIC with queues of size entries and every receive
// buffer posted, attached to a fake dispatcher (its goroutines are not
// started: the test calls drainRx).
func newTestNIC(t *testing.T, size int) (*NIC, *fakeRing, *fakeRing, *fakeDispatcher, []byte) {
	notify := make([]byte, 16)
	n := &NIC{name: "test", mac: testMAC, mtu: defaultMTU, notify: virtio.NewNotifier(notify, 4)}
	var rx, tx *fakeRing
	n.rx, rx = newTestVQ(t, 0, size, 0x100000)
	n.tx, tx = newTestVQ(t, 1, size, 0x200000)
	for n.rx.q.Free() > 0 {
		n.rx.post(n.rx.takeBuf(), bufSize, true)
	}
	n.rx.publish(n.notify)
	d := &fakeDispatcher{}
	n.ep = &endpoint{nic: n, dispatcher: d}
	return n, rx, tx, d, notify
}

// deviceReceive writes frame (after a virtio-net header) into the next
// receive buffer and returns the buffer, claiming length bytes written.
func deviceReceive(t *testing.T, n *NIC, rx *fakeRing, frame []byte, length uint32) {
	head, addr, l, flags := rx.pop(t)
	require.Equal(t, uint32(bufSize), l)
	require.Equal(t, uint16(2), flags, "device-writable")
	buf := n.rx.bufs[addr-n.rx.bufPhys:][:bufSize]
	virtio.NetHdr{NumBuffers: 1}.Encode(buf)
	copy(buf[virtio.NetHdrSize:], frame)
	rx.push(head, length)
}

func ethFrame(dst tcpip.LinkAddress, typ tcpip.NetworkProtocolNumber, payload []byte) []byte {
	f := make([]byte, header.EthernetMinimumSize+len(payload))
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: "\x52\x55\x0a\x00\x02\x02", DstAddr: dst, Type: typ})
	copy(f[header.EthernetMinimumSize:], payload)
	return f
}

func TestReceive(t *testing.T) {
	const size = 8
	n, rx, _, d, notify := newTestNIC(t, size)
	assert.Equal(t, uint16(size), rx.availIdx(), "every buffer posted")

	payload := []byte("an IPv4 packet, as far as this test cares: forty-six bytes")
	good := ethFrame(testMAC, header.IPv4ProtocolNumber, payload)
	deviceReceive(t, n, rx, good, uint32(virtio.NetHdrSize+len(good)))
	deviceReceive(t, n, rx, good[:10], virtio.NetHdrSize+10) // shorter than an Ethernet header
	deviceReceive(t, n, rx, good, bufSize+1)                 // longer than the buffer
	deviceReceive(t, n, rx, ethFrame(header.EthernetBroadcastAddress, header.ARPProtocolNumber, make([]byte, 28)), virtio.NetHdrSize+14+28)
	binary.LittleEndian.PutUint16(notify[0:], 0xffff)

	n.drainRx()
	require.Len(t, d.data, 2)
	assert.Equal(t, payload, d.data[0])
	assert.Equal(t, []tcpip.NetworkProtocolNumber{header.IPv4ProtocolNumber, header.ARPProtocolNumber}, d.protos)
	assert.Equal(t, []tcpip.PacketType{tcpip.PacketHost, tcpip.PacketBroadcast}, d.types)
	st := n.Stats()
	assert.Equal(t, uint64(2), st.RxPackets)
	assert.Equal(t, uint64(len(good)+14+28), st.RxBytes)
	assert.Equal(t, uint64(2), st.RxMalformed)
	assert.Equal(t, 0, n.rx.q.Free(), "every buffer posted again, malformed ones too")
	assert.Equal(t, uint16(size+4), rx.availIdx())
	assert.Equal(t, uint16(0), binary.LittleEndian.Uint16(notify[0:]), "the device was notified on queue 0")

	// Many rounds through the ring: nothing leaks.
	for i := 0; i < 5*size; i++ {
		deviceReceive(t, n, rx, good, uint32(virtio.NetHdrSize+len(good)))
		n.drainRx()
	}
	assert.Len(t, d.data, 2+5*size)
	assert.Equal(t, 0, n.rx.q.Free())
}

func txPacket(payload []byte) *stack.PacketBuffer {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{ReserveHeaderBytes: header.EthernetMinimumSize, Payload: buffer.MakeWithData(payload)})
	pkt.NetworkProtocolNumber = header.IPv4ProtocolNumber
	pkt.EgressRoute.RemoteLinkAddress = "\x52\x55\x0a\x00\x02\x02"
	return pkt
}

func send(n *NIC, payloads ...[]byte) (int, tcpip.Error) {
	var l stack.PacketBufferList
	for _, p := range payloads {
		pkt := txPacket(p)
		n.ep.AddHeader(pkt)
		l.PushBack(pkt)
	}
	defer l.DecRef()
	return n.ep.WritePackets(l)
}

func TestTransmit(t *testing.T) {
	const size = 4
	n, _, tx, _, notify := newTestNIC(t, size)
	binary.LittleEndian.PutUint16(notify[4:], 0xffff)

	payload := []byte("payload")
	sent, err := send(n, payload)
	require.Nil(t, err)
	assert.Equal(t, 1, sent)
	assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(notify[4:]), "the device was notified on queue 1")
	head, addr, length, flags := tx.pop(t)
	assert.Equal(t, uint16(0), flags, "device-readable, one descriptor")
	require.Equal(t, uint32(virtio.NetHdrSize+14+len(payload)), length)
	b := n.tx.bufs[addr-n.tx.bufPhys:][:length]
	assert.Equal(t, make([]byte, virtio.NetHdrSize), b[:virtio.NetHdrSize], "no offloads: a zero header")
	eth := header.Ethernet(b[virtio.NetHdrSize:])
	assert.Equal(t, testMAC, eth.SourceAddress())
	assert.Equal(t, tcpip.LinkAddress("\x52\x55\x0a\x00\x02\x02"), eth.DestinationAddress())
	assert.Equal(t, header.IPv4ProtocolNumber, eth.Type())
	assert.Equal(t, payload, []byte(b[virtio.NetHdrSize+14:]))

	// Three more fill the ring; of a batch of two, one is dropped.
	sent, err = send(n, payload, payload)
	assert.Nil(t, err)
	assert.Equal(t, 2, sent)
	sent, err = send(n, payload, payload)
	assert.Nil(t, err)
	assert.Equal(t, 1, sent)
	sent, err = send(n, payload)
	assert.IsType(t, &tcpip.ErrNoBufferSpace{}, err)
	assert.Equal(t, 0, sent)
	assert.Equal(t, uint64(2), n.Stats().TxRingFull)

	// The device completes one: the next send reclaims its buffer.
	tx.push(head, 0)
	sent, err = send(n, payload)
	assert.Nil(t, err)
	assert.Equal(t, 1, sent)
	sent, err = send(n, make([]byte, bufSize))
	assert.IsType(t, &tcpip.ErrMessageTooLong{}, err)
	st := n.Stats()
	assert.Equal(t, uint64(5), st.TxPackets)
	assert.Equal(t, uint64(5*(14+len(payload))), st.TxBytes)
	assert.Equal(t, uint64(1), st.TxTooLong)
}

func TestEndpoint(t *testing.T) {
	n, _, _, _, _ := newTestNIC(t, 4)
	ep := n.LinkEndpoint()
	assert.Equal(t, uint32(1500), ep.MTU())
	assert.Equal(t, uint16(14), ep.MaxHeaderLength())
	assert.Equal(t, testMAC, ep.LinkAddress())
	assert.Equal(t, stack.CapabilityResolutionRequired, ep.Capabilities())
	assert.Equal(t, header.ARPHardwareEther, ep.ARPHardwareType())
	ep.SetMTU(9000)
	assert.Equal(t, uint32(1500), ep.MTU(), "no more than a buffer holds")
	ep.SetMTU(1400)
	assert.Equal(t, uint32(1400), ep.MTU())
	assert.True(t, ep.IsAttached())
	gso, ok := ep.(stack.GSOEndpoint)
	require.True(t, ok, "TCP builds large segments, split by the driver")
	assert.Equal(t, stack.HostGSOSupported, gso.SupportedGSO())
	assert.Equal(t, uint32(tsoMaxSize), gso.GSOMaxSize())
}

func TestOpenNICOnHost(t *testing.T) {
	_, err := OpenNIC()
	assert.ErrorIs(t, err, errNoDevice)
}
