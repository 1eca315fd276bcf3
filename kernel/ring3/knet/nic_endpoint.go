package knet

import (
	"sync"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// endpoint is the NIC as gVisor's stack.LinkEndpoint: Ethernet frames,
// carried by the NIC's queues. All methods are called by the stack's
// goroutines (ring 3); none runs in trap context.
type endpoint struct {
	nic *NIC

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	addr       tcpip.LinkAddress // set by SetLinkAddress; "" means the NIC's MAC
	onClose    func()
	mtu        atomic.Uint32 // 0 means the NIC's

	// rxVouched is set by the receive goroutine while it delivers a frame
	// whose transport checksum the device vouched for (see deliver).
	rxVouched atomic.Bool
}

var _ stack.LinkEndpoint = (*endpoint)(nil)

// MTU implements stack.LinkEndpoint: the payload an Ethernet frame carries.
func (e *endpoint) MTU() uint32 {
	if m := e.mtu.Load(); m != 0 {
		return m
	}
	return e.nic.mtu
}

// SetMTU implements stack.LinkEndpoint; the MTU cannot exceed what one
// buffer holds.
func (e *endpoint) SetMTU(mtu uint32) { e.mtu.Store(min(mtu, e.nic.mtu)) }

// MaxHeaderLength implements stack.LinkEndpoint.
func (*endpoint) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.
func (e *endpoint) LinkAddress() tcpip.LinkAddress {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.addr != "" {
		return e.addr
	}
	return e.nic.mac
}

// SetLinkAddress implements stack.LinkEndpoint. It changes the source
// address of outgoing frames, not the device's filter (QEMU's user
// network does not filter).
func (e *endpoint) SetLinkAddress(addr tcpip.LinkAddress) {
	e.mu.Lock()
	e.addr = addr
	e.mu.Unlock()
}

// Capabilities implements stack.LinkEndpoint: neighbours are resolved
// with ARP; with VIRTIO_NET_F_CSUM the device completes TCP and UDP
// checksums (nic_csum.go). Receive checksum offload is reported only
// while deliver hands the stack a frame the device vouched for.
func (e *endpoint) Capabilities() stack.LinkEndpointCapabilities {
	c := stack.CapabilityResolutionRequired
	if e.nic.features&virtio.NetFeatureCsum != 0 {
		c |= stack.CapabilityTXChecksumOffload
	}
	if e.rxVouched.Load() {
		c |= stack.CapabilityRXChecksumOffload
	}
	return c
}

// Attach implements stack.LinkEndpoint. The first attach starts the
// NIC's goroutines; they run for the program's life (a nil dispatcher
// makes receive drop frames).
func (e *endpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
	if d != nil {
		e.nic.start.Do(func() {
			go e.nic.rxLoop()
			go e.nic.txLoop()
			go e.nic.configLoop()
		})
	}
}

// IsAttached implements stack.LinkEndpoint.
func (e *endpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements stack.LinkEndpoint. The NIC's goroutines never stop,
// so there is nothing to wait for.
func (*endpoint) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.
func (*endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint: the Ethernet header.
func (e *endpoint) AddHeader(pkt *stack.PacketBuffer) {
	src := pkt.EgressRoute.LocalLinkAddress
	if src == "" {
		src = e.LinkAddress()
	}
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{SrcAddr: src, DstAddr: pkt.EgressRoute.RemoteLinkAddress, Type: pkt.NetworkProtocolNumber})
}

// ParseHeader implements stack.LinkEndpoint.
func (*endpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// WritePackets implements stack.LinkWriter (see nic_tx.go).
func (e *endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	return e.nic.writePackets(pkts)
}

// Close implements stack.LinkEndpoint: it runs the close action; the
// device stays up (the program owns it until it exits).
func (e *endpoint) Close() {
	e.mu.Lock()
	f := e.onClose
	e.onClose = nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetOnCloseAction implements stack.LinkEndpoint.
func (e *endpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	e.onClose = f
	e.mu.Unlock()
}

// deliver hands an inbound frame (its Ethernet header at the front) to
// the attached stack, reporting whether there was one to take it.
// vouched says the device checked the frame's transport checksum (and the
// driver its IPv4 header checksum), so netstack may skip both.
//
// Setting pkt.RXChecksumValidated is not enough in this gVisor version:
// the stack's NIC overwrites it in DeliverNetworkPacket with the link
// endpoint's CapabilityRXChecksumOffload, read then. So Capabilities
// includes that bit exactly while such a frame is delivered. Only the
// receive goroutine delivers, one frame at a time, and the stack reads
// the bit nowhere else; reporting it for every frame would skip the
// verification of frames the device did not check.
func (e *endpoint) deliver(pkt *stack.PacketBuffer, vouched bool) bool {
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		return false
	}
	hdr, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	if !ok {
		return false
	}
	eth := header.Ethernet(hdr)
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == e.LinkAddress():
		pkt.PktType = tcpip.PacketHost
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	if vouched {
		pkt.RXChecksumValidated = true
		e.rxVouched.Store(true)
		defer e.rxVouched.Store(false)
	}
	d.DeliverNetworkPacket(eth.Type(), pkt)
	return true
}

// GSOMaxSize implements stack.GSOEndpoint: the largest TCP packet
// gVisor hands the driver to segment (see SupportedGSO).
func (*endpoint) GSOMaxSize() uint32 { return tsoMaxSize }

// tsoMaxSize is the largest TCP packet the driver segments. gVisor's TCP
// keeps its headers' maximum (160 bytes) below it, so an IPv4 packet's
// total length still fits its 16-bit field.
const tsoMaxSize = 1 << 16

// SupportedGSO implements stack.GSOEndpoint: the driver segments TCP
// (nic_tso.go). TCP then sends up to 64 KiB per segment of its send
// queue, so its sender, retransmit queue and ACK processing handle one
// segment where they handled forty-odd, and the cut into MSS-sized frames
// happens as the driver copies the packet into the transmit buffers.
func (*endpoint) SupportedGSO() stack.SupportedGSO { return stack.HostGSOSupported }
