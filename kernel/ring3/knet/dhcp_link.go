package knet

import (
	"bytes"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// linkDHCP is the DHCP client's UDP port 68 on a NIC that has no address
// yet: until close, the NIC has 0.0.0.0 as its address, so the stack sends
// from it to the limited broadcast address and accepts the server's
// broadcast answers. (Promiscuous mode is not needed, and with the stack's
// HandleLocal it would drop the answers as coming from a local address.) Context: ring-3
// kernel goroutine, for every method.
type linkDHCP struct {
	st    *stack.Stack
	nic   tcpip.NICID
	ep    tcpip.Endpoint
	wq    waiter.Queue
	entry waiter.Entry
	ready chan struct{}
}

func openDHCP(st *stack.Stack, nic tcpip.NICID) (*linkDHCP, error) {
	l := &linkDHCP{st: st, nic: nic}
	if err := st.SetSpoofing(nic, true); err != nil {
		return nil, errorf("DHCP: %v", err)
	}
	// 0.0.0.0 as the (only, and primary) address lets the stack send from it.
	any := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: header.IPv4Any}}
	if err := st.AddProtocolAddress(nic, any, stack.AddressProperties{}); err != nil {
		l.undo()
		return nil, errorf("DHCP: %v", err)
	}
	st.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, NIC: nic})
	ep, err := st.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &l.wq)
	if err != nil {
		l.undo()
		return nil, errorf("DHCP: %v", err)
	}
	l.ep = ep
	ep.SocketOptions().SetBroadcast(true)
	ep.SocketOptions().SetBindToDevice(int32(nic))
	if err := ep.Bind(tcpip.FullAddress{Port: 68}); err != nil {
		l.close()
		return nil, errorf("DHCP: binding port 68: %v", err)
	}
	l.entry, l.ready = waiter.NewChannelEntry(waiter.EventIn)
	l.wq.EventRegister(&l.entry)
	return l, nil
}

func (l *linkDHCP) send(msg []byte) error {
	to := tcpip.FullAddress{NIC: l.nic, Addr: header.IPv4Broadcast, Port: 67}
	if _, err := l.ep.Write(bytes.NewReader(msg), tcpip.WriteOptions{To: &to}); err != nil {
		return errorf("%v", err)
	}
	return nil
}

func (l *linkDHCP) recv(deadline time.Time) ([]byte, error) {
	for {
		var w sliceWriter
		_, err := l.ep.Read(&w, tcpip.ReadOptions{})
		if err == nil {
			return w.b, nil
		}
		if _, ok := err.(*tcpip.ErrWouldBlock); !ok {
			return nil, errorf("%v", err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, errDHCPTimeout
		}
		select {
		case <-l.ready:
		case <-time.After(wait):
			return nil, errDHCPTimeout
		}
	}
}

// close ends DHCP on the NIC.
func (l *linkDHCP) close() {
	if l.ready != nil {
		l.wq.EventUnregister(&l.entry)
	}
	l.ep.Close()
	l.undo()
}

func (l *linkDHCP) undo() {
	l.st.RemoveAddress(l.nic, header.IPv4Any)
	l.st.RemoveRoutes(func(r tcpip.Route) bool {
		return r.Destination == header.IPv4EmptySubnet && r.NIC == l.nic && r.Gateway.Len() == 0
	})
	l.st.SetSpoofing(l.nic, false)
}
