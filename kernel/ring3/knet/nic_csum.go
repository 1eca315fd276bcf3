package knet

import (
	"encoding/binary"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// Checksum offload (virtio spec 1.2, 5.1.6.2 and 5.1.6.4), used when the
// device offers it (a tap backend does; QEMU's user network does not).
//
// Transmit (VIRTIO_NET_F_CSUM): the endpoint reports
// CapabilityTXChecksumOffload, so netstack leaves the TCP and UDP
// checksum fields zero. For an unfragmented IPv4 TCP or UDP frame the
// driver writes the pseudo-header sum there and asks the device to
// complete it (NEEDS_CSUM, csum_start at the transport header). Anything
// else (ARP, ICMP, whose checksums netstack always computes, and IP
// fragments) goes out as it is. A UDP datagram netstack fragments keeps
// the zero checksum, which IPv4 reads as "no checksum" (RFC 768): the
// device cannot sum a datagram spread over several frames.
//
// Receive (VIRTIO_NET_F_GUEST_CSUM): a frame the device flags NEEDS_CSUM
// carries only the partial sum (it came from the host's memory), one
// flagged DATA_VALID was checked by the device. If it is an unfragmented
// IPv4 TCP or UDP packet with a valid IP header checksum (the device
// vouches for the transport checksum only, as with Linux's
// CHECKSUM_UNNECESSARY), the driver tells netstack to skip verification
// for that frame alone (see endpoint.deliver). A NEEDS_CSUM frame it
// cannot vouch for is completed in software; every other frame is
// verified by netstack as without the feature.

// ipv4Transport finds the transport segment of an unfragmented IPv4 TCP
// or UDP packet in frame (Ethernet header first): its offset in frame,
// its length, its protocol and the offset of its checksum field within
// it. ok is false for any other frame, or one too short for its headers.
func ipv4Transport(frame []byte) (start, length int, proto tcpip.TransportProtocolNumber, csumOff int, ok bool) {
	if len(frame) < header.EthernetMinimumSize+header.IPv4MinimumSize ||
		header.Ethernet(frame).Type() != header.IPv4ProtocolNumber {
		return 0, 0, 0, 0, false
	}
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	hlen := int(ip.HeaderLength())
	total := int(ip.TotalLength())
	if ip[0]>>4 != 4 || hlen < header.IPv4MinimumSize || total < hlen || total > len(ip) {
		return 0, 0, 0, 0, false
	}
	if ip.More() || ip.FragmentOffset() != 0 {
		return 0, 0, 0, 0, false
	}
	start, length, proto = header.EthernetMinimumSize+hlen, total-hlen, ip.TransportProtocol()
	switch {
	case proto == header.TCPProtocolNumber && length >= header.TCPMinimumSize:
		csumOff = header.TCPChecksumOffset
	case proto == header.UDPProtocolNumber && length >= header.UDPMinimumSize:
		csumOff = udpChecksumOffset
	default:
		return 0, 0, 0, 0, false
	}
	return start, length, proto, csumOff, true
}

// udpChecksumOffset is where the checksum sits in a UDP header.
const udpChecksumOffset = 6

// txChecksumHdr prepares an outbound frame for a device that completes
// checksums: for an unfragmented IPv4 TCP or UDP frame it stores the
// pseudo-header sum in the checksum field and returns the header that
// asks the device to finish it; any other frame is left alone and gets a
// zero header.
func txChecksumHdr(frame []byte) virtio.NetHdr {
	start, length, proto, csumOff, ok := ipv4Transport(frame)
	if !ok {
		return virtio.NetHdr{}
	}
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	sum := header.PseudoHeaderChecksum(proto, ip.SourceAddress(), ip.DestinationAddress(), uint16(length))
	binary.BigEndian.PutUint16(frame[start+csumOff:], sum)
	return virtio.NetHdr{Flags: virtio.NetHdrNeedsCsum, CsumStart: uint16(start), CsumOffset: uint16(csumOff)}
}

// rxChecksum applies a received frame's checksum flags. vouched reports
// that the device answers for the frame's transport checksum, so netstack
// need not verify it; a NEEDS_CSUM frame the driver cannot vouch for has
// its checksum completed here (completed). ok is false when its header
// places the checksum field outside the frame: the caller drops it.
func rxChecksum(h virtio.NetHdr, frame []byte) (vouched, completed, ok bool) {
	if h.Flags&(virtio.NetHdrNeedsCsum|virtio.NetHdrDataValid) == 0 {
		return false, false, true
	}
	start, _, _, csumOff, isL4 := ipv4Transport(frame)
	ipValid := isL4 && header.IPv4(frame[header.EthernetMinimumSize:]).IsChecksumValid()
	if h.Flags&virtio.NetHdrNeedsCsum == 0 {
		return ipValid, false, true // DATA_VALID
	}
	if ipValid && int(h.CsumStart) == start && int(h.CsumOffset) == csumOff {
		return true, false, true
	}
	if err := virtio.CompleteChecksum(frame, h.CsumStart, h.CsumOffset); err != nil {
		return false, false, false
	}
	return false, true, true
}
