package knet

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// countingLink is a link writer that records what it was given.
type countingLink struct {
	packets int
	last    *stack.PacketBuffer
}

func (l *countingLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	for _, p := range pkts.AsSlice() {
		l.packets++
		l.last = p
	}
	return pkts.Len(), nil
}

// TestDirectQDisc: each packet reaches the link alone, the caller keeps
// its reference, and a write allocates nothing once the pool is warm.
func TestDirectQDisc(t *testing.T) {
	link := &countingLink{}
	q := newDirectQDisc(link)
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData([]byte("payload"))})
	defer pkt.DecRef()
	require.Nil(t, q.WritePacket(pkt))
	assert.Equal(t, 1, link.packets)
	assert.Same(t, pkt, link.last)
	assert.Equal(t, int64(1), pkt.ReadRefs(), "the list's reference is dropped, the caller's kept")
	allocs := testing.AllocsPerRun(100, func() { q.WritePacket(pkt) })
	assert.Zero(t, allocs)
	assert.Equal(t, 102, link.packets)
	assert.Equal(t, int64(1), pkt.ReadRefs())
}
