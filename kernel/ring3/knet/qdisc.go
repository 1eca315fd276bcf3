package knet

import (
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// directQDisc hands each packet straight to the link endpoint, as gVisor's
// default queueing discipline does, but without allocating: the default
// builds a new one-packet list (a fresh slice) for every packet, which on
// loopback is an allocation per segment in the program's heap, where
// Linux's network stack allocates nothing the program can see
// (TestTCPReadWriteAllocs). The lists are reused through a pool, so the
// discipline is safe for the stack's concurrent writers and for a write
// that loops back into another. It is for a link writer that is done with
// the list when WritePackets returns, as loopback's is (it copies each
// packet and keeps nothing); one that queues the list must not get it.
type directQDisc struct {
	link  stack.LinkWriter
	lists sync.Pool // of *stack.PacketBufferList
}

// newDirectQDisc returns the discipline for the NIC of link endpoint l.
func newDirectQDisc(l stack.LinkWriter) *directQDisc {
	return &directQDisc{link: l}
}

// WritePacket writes pkt to the link. The list's Reset drops the
// reference it takes, so the caller keeps its own, as with the default.
func (q *directQDisc) WritePacket(pkt *stack.PacketBuffer) tcpip.Error {
	l, _ := q.lists.Get().(*stack.PacketBufferList)
	if l == nil {
		l = &stack.PacketBufferList{}
	}
	pkt.IncRef()
	l.PushBack(pkt)
	_, err := q.link.WritePackets(*l)
	l.Reset()
	q.lists.Put(l)
	return err
}

// Close implements stack.QueueingDiscipline; there is nothing queued.
func (*directQDisc) Close() {}
