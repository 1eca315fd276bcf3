package knet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// DHCP: the address, gateway and DNS server from the network's DHCP
// server (RFC 2131's DISCOVER, OFFER, REQUEST, ACK; u-root's DHCP library
// builds and parses the messages). The exchange runs over a dhcpTransport,
// which dhcp_link.go provides on the NIC before it has an address.

// lease is what the DHCP server granted.
type lease struct {
	prefix netip.Prefix // address and subnet
	gw     netip.Addr   // first router, if any
	dns    netip.Addr   // first DNS server, if any
}

// dhcpTransport sends a message to the DHCP servers (broadcast) and
// returns the next message that arrives before deadline.
type dhcpTransport interface {
	send(msg []byte) error
	recv(deadline time.Time) ([]byte, error)
}

var errDHCPTimeout = errors.New("no answer")

// dhcpRetry is how long to wait for each answer before sending again.
const dhcpRetry = time.Second

// acquireLease runs the exchange for the interface with hardware address
// mac, resending each request every dhcpRetry, until timeout. Context:
// ring-3 kernel goroutine.
func acquireLease(tr dhcpTransport, mac net.HardwareAddr, timeout time.Duration) (lease, error) {
	end := time.Now().Add(timeout)
	discover, err := dhcpv4.NewDiscovery(mac, dhcpv4.WithBroadcast(true))
	if err != nil {
		return lease{}, err
	}
	offer, err := exchange(tr, discover, dhcpv4.MessageTypeOffer, end)
	if err != nil {
		return lease{}, fmt.Errorf("DISCOVER: %w", err)
	}
	request, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithBroadcast(true))
	if err != nil {
		return lease{}, err
	}
	ack, err := exchange(tr, request, dhcpv4.MessageTypeAck, end)
	if err != nil {
		return lease{}, fmt.Errorf("REQUEST for %s: %w", offer.YourIPAddr, err)
	}
	return leaseOf(ack)
}

// exchange sends msg until a reply of type want with msg's transaction ID
// arrives; a NAK ends it.
func exchange(tr dhcpTransport, msg *dhcpv4.DHCPv4, want dhcpv4.MessageType, end time.Time) (*dhcpv4.DHCPv4, error) {
	for time.Now().Before(end) {
		if err := tr.send(msg.ToBytes()); err != nil {
			return nil, err
		}
		retry := time.Now().Add(dhcpRetry)
		if retry.After(end) {
			retry = end
		}
		for {
			b, err := tr.recv(retry)
			if errors.Is(err, errDHCPTimeout) {
				break
			}
			if err != nil {
				return nil, err
			}
			reply, err := dhcpv4.FromBytes(b)
			if err != nil || reply.TransactionID != msg.TransactionID || reply.OpCode != dhcpv4.OpcodeBootReply {
				continue // not ours, or malformed: ignore it
			}
			switch reply.MessageType() {
			case want:
				return reply, nil
			case dhcpv4.MessageTypeNak:
				return nil, fmt.Errorf("refused (NAK): %s", reply.Message())
			}
		}
	}
	return nil, errDHCPTimeout
}

// leaseOf reads the grant from an ACK.
func leaseOf(ack *dhcpv4.DHCPv4) (lease, error) {
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || ip.IsUnspecified() {
		return lease{}, fmt.Errorf("ACK without an address")
	}
	bits := 24
	if m := ack.SubnetMask(); m != nil {
		if ones, size := m.Size(); size == 32 {
			bits = ones
		}
	}
	l := lease{prefix: netip.PrefixFrom(ip, bits)}
	if r := ack.Router(); len(r) > 0 {
		l.gw, _ = netip.AddrFromSlice(r[0].To4())
	}
	if d := ack.DNS(); len(d) > 0 {
		l.dns, _ = netip.AddrFromSlice(d[0].To4())
	}
	return l, nil
}
