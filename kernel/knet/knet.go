package knet

import (
	"os"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

const (
	nicID      tcpip.NICID = 1
	loopbackID tcpip.NICID = 2
)

func init() {
	if !onGometal() {
		return // a host test binary: no devices, and the host has a network
	}
	b, _ := os.ReadFile("/proc/cmdline")
	cfg, err := parseConfig(string(b))
	if err != nil {
		logf("network: %v; using the defaults", err)
	}
	if cfg.off {
		logf("network: off (nonet)")
		return
	}
	if err := start(cfg); err != nil {
		logf("network: %v", err)
	}
}

// start builds the stack (IPv4 with ARP, TCP, UDP, ICMP), attaches the
// loopback interface and the virtio-net device if there is one, and runs
// the socket engine. Context: ring-3 kernel goroutine (package init).
func start(cfg config) error {
	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
		HandleLocal:        true,
	})
	sack := tcpip.TCPSACKEnabled(true)
	st.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	if err := st.CreateNIC(loopbackID, loopback.New()); err != nil {
		return errorf("loopback: %v", err)
	}
	if err := addAddress(st, loopbackID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}); err != nil {
		return err
	}
	routes := []tcpip.Route{{Destination: mustSubnet([4]byte{127, 0, 0, 0}, 8), NIC: loopbackID}}
	var addr [4]byte
	nic, err := OpenNIC()
	if err != nil {
		logf("network: %v; loopback only", err)
	} else {
		if err := st.CreateNIC(nicID, nic.LinkEndpoint()); err != nil {
			return errorf("attaching the NIC: %v", err)
		}
		addr = cfg.prefix.Addr().As4()
		if err := addAddress(st, nicID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr), PrefixLen: cfg.prefix.Bits()}); err != nil {
			return err
		}
		routes = append(routes,
			tcpip.Route{Destination: mustSubnet(cfg.prefix.Masked().Addr().As4(), cfg.prefix.Bits()), NIC: nicID},
			tcpip.Route{Destination: mustSubnet([4]byte{}, 0), Gateway: tcpip.AddrFrom4(cfg.gw.As4()), NIC: nicID})
		logf("network: %s on %s, gateway %s", cfg.prefix, nic.MAC(), cfg.gw)
	}
	st.SetRouteTable(routes)
	e, err := newEngine(st, addr)
	if err != nil {
		return err
	}
	go e.run()
	return nil
}

func addAddress(st *stack.Stack, id tcpip.NICID, a tcpip.AddressWithPrefix) error {
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: a}
	if err := st.AddProtocolAddress(id, pa, stack.AddressProperties{}); err != nil {
		return errorf("address %s: %v", a, err)
	}
	return nil
}

func mustSubnet(ip [4]byte, bits int) tcpip.Subnet {
	mask := tcpip.MaskFromBytes(prefixMask(bits))
	s, err := tcpip.NewSubnet(tcpip.AddrFrom4(ip), mask)
	if err != nil {
		panic(err)
	}
	return s
}

func prefixMask(bits int) []byte {
	m := make([]byte, 4)
	for i := range bits {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}
