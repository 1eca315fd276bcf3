package knet

import (
	"net"
	"os"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/link/qdisc/fifo"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

const (
	nicID      tcpip.NICID = 1
	loopbackID tcpip.NICID = 2
)

// nicQueueLen is the NIC's transmit queue (packets). The stack's writers
// (TCP's processors, the engine, timers) put their packets in gVisor's
// FIFO queueing discipline, whose goroutine hands them to the driver in
// batches of up to 47 when the writers yield: one device notification
// per batch instead of one per packet, and no one-packet list allocated
// per packet as the default discipline does. A full queue refuses a
// packet with ErrNoBufferSpace; a full transmit ring drops it (TCP
// retransmits).
const nicQueueLen = 1000

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

// start builds the stack (IPv4 with ARP, IPv6, TCP, UDP, ICMP and raw
// sockets), attaches the loopback interface (127.0.0.1/8 and ::1/128) and the virtio-net device if there is one, and runs
// the socket engine. Context: ring-3 kernel goroutine (package init).
func start(cfg config) error {
	st := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        true,
		RawFactory:         raw.EndpointFactory{},
	})
	sack := tcpip.TCPSACKEnabled(true)
	st.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	lo := loopback.New()
	if err := st.CreateNICWithOptions(loopbackID, lo, stack.NICOptions{QDisc: newDirectQDisc(lo)}); err != nil {
		return errorf("loopback: %v", err)
	}
	if err := addAddress(st, loopbackID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}); err != nil {
		return err
	}
	if err := addAddress6(st, loopbackID, tcpip.AddrFrom16([16]byte{15: 1})); err != nil {
		return err
	}
	routes := []tcpip.Route{
		{Destination: mustSubnet([4]byte{127, 0, 0, 0}, 8), NIC: loopbackID},
		{Destination: tcpip.AddrFrom16([16]byte{15: 1}).WithPrefix().Subnet(), NIC: loopbackID},
	}
	var addr [4]byte
	var link nicInfo
	nic, err := OpenNIC()
	if err != nil {
		logf("network: %v; loopback only", err)
	} else {
		ep := nic.LinkEndpoint()
		if err := st.CreateNICWithOptions(nicID, ep, stack.NICOptions{QDisc: fifo.New(ep, 1, nicQueueLen)}); err != nil {
			return errorf("attaching the NIC: %v", err)
		}
		if cfg.dhcp {
			cfg = configure(st, nic, cfg)
		}
		addr = cfg.prefix.Addr().As4()
		if err := addAddress(st, nicID, tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr), PrefixLen: cfg.prefix.Bits()}); err != nil {
			return err
		}
		routes = append(routes, tcpip.Route{Destination: mustSubnet(cfg.prefix.Masked().Addr().As4(), cfg.prefix.Bits()), NIC: nicID})
		if cfg.gw.IsValid() {
			routes = append(routes, tcpip.Route{Destination: mustSubnet([4]byte{}, 0), Gateway: tcpip.AddrFrom4(cfg.gw.As4()), NIC: nicID})
		}
		logf("network: %s on %s, gateway %v", cfg.prefix, nic.MAC(), cfg.gw)
		link = nicInfo{present: true, mac: nic.MAC(), mtu: nic.LinkEndpoint().MTU(), prefix: cfg.prefix.Bits()}
	}
	st.SetRouteTable(routes)
	var dns [4]byte
	if cfg.dns.IsValid() {
		dns = cfg.dns.As4()
	}
	e, err := newEngine(st, addr, dns, link)
	if err != nil {
		return err
	}
	registerExitDrain(e)
	go e.run()
	return nil
}

// dhcpTimeout bounds the wait for a DHCP server at boot.
const dhcpTimeout = 3 * time.Second

// configure asks the DHCP server for the address, gateway and DNS server,
// or keeps cfg's static defaults when there is no answer. Context: ring-3
// kernel goroutine (package init).
func configure(st *stack.Stack, nic *NIC, cfg config) config {
	l, err := openDHCP(st, nicID)
	if err == nil {
		var got lease
		start := time.Now()
		got, err = acquireLease(l, net.HardwareAddr(nic.MAC()), dhcpTimeout)
		l.close()
		if err == nil {
			logf("network: DHCP lease %s, gateway %v, DNS %v after %v", got.prefix, got.gw, got.dns, time.Since(start).Round(time.Millisecond))
			cfg.prefix, cfg.gw, cfg.dns = got.prefix, got.gw, got.dns
			return cfg
		}
	}
	logf("network: DHCP: %v; using %s via %s (set ip= and gw= for another network)", err, cfg.prefix, cfg.gw)
	return cfg
}

func addAddress(st *stack.Stack, id tcpip.NICID, a tcpip.AddressWithPrefix) error {
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: a}
	if err := st.AddProtocolAddress(id, pa, stack.AddressProperties{}); err != nil {
		return errorf("address %s: %v", a, err)
	}
	return nil
}

// addAddress6 gives NIC id the IPv6 address a (a /128).
func addAddress6(st *stack.Stack, id tcpip.NICID, a tcpip.Address) error {
	pa := tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: a.WithPrefix()}
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
