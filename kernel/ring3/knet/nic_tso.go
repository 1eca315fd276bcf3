package knet

import (
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// TCP segmentation in the driver. The endpoint tells gVisor that the
// link segments TCP itself (stack.HostGSOSupported, as a NIC with TSO
// would), so TCP hands down one packet of up to 64 KiB of its send queue
// with the pseudo-header sum in the checksum field (stack.GSO NeedsCsum,
// like Linux's CHECKSUM_PARTIAL) and the MSS in its GSO options. The
// driver cuts it into MSS-sized frames while it copies it into the
// transmit buffers: the headers copied once per frame with the IP
// length, the IPv4 identification and checksum, the TCP sequence number
// and flags set for that frame, and the TCP checksum computed over the
// frame (or left to the device when it offers VIRTIO_NET_F_CSUM and the
// frame is IPv4: nic_csum.go). FIN and PSH stay on the last frame, CWR on
// the first, as a NIC's TSO does.
//
// gVisor's own segmentation (GVisorGSOSupported) did the cut in TCP
// (sendTCPBatch): a packet buffer, a TCP header, a trip through IPv4's
// output (route, iptables, statistics) and the queueing discipline for
// every 1,460 bytes, a quarter of the guest's time in a bulk transfer
// under TCG. QEMU's user network offers no offloads of its own, so this
// is where the cut costs least.
//
// Every TCP packet of the NIC carries NeedsCsum, pure ACKs and small
// segments too: they are one frame, whose checksum the driver completes
// the same way.

// tsoHeaderMax bounds the headers of a packet the driver segments:
// Ethernet, IPv4 with options or IPv6 with up to 68 bytes of extension
// headers, and TCP with options.
const tsoHeaderMax = header.EthernetMinimumSize + header.IPv6MinimumSize + 68 + header.TCPHeaderMaximumSize

// tcpSegmenter cuts one TCP packet into frames. Frames must be taken in
// order: the payload cursor moves forward.
type tcpSegmenter struct {
	hdr     []byte // Ethernet, IP and TCP headers, in that order
	tcpOff  int    // where the TCP header starts in hdr
	v6      bool
	mss     int
	swCsum  bool     // compute the TCP checksum (else the device will)
	payload [][]byte // the payload's slices, unconsumed part first
	size    int      // payload bytes in all
	done    int      // payload bytes already in frames
	frames  int      // frames already built
	hdrBuf  [tsoHeaderMax]byte
}

// isTCPGSO reports whether pkt is a TCP packet gVisor left for the
// driver to segment and checksum.
func isTCPGSO(pkt *stack.PacketBuffer) bool {
	t := pkt.GSOOptions.Type
	return (t == stack.GSOTCPv4 || t == stack.GSOTCPv6) && pkt.GSOOptions.NeedsCsum
}

// init prepares s for pkt; ok is false when its headers are not an
// Ethernet header, an IP header of the GSO type's version and a TCP
// header, or are too long.
func (s *tcpSegmenter) init(pkt *stack.PacketBuffer, swCsum bool) (ok bool) {
	link, network, transport := pkt.LinkHeader().Slice(), pkt.NetworkHeader().Slice(), pkt.TransportHeader().Slice()
	n := len(link) + len(network) + len(transport)
	if len(link) != header.EthernetMinimumSize || len(transport) < header.TCPMinimumSize || n > len(s.hdrBuf) {
		return false
	}
	s.hdr = s.hdrBuf[:n]
	copy(s.hdr, link)
	copy(s.hdr[len(link):], network)
	copy(s.hdr[len(link)+len(network):], transport)
	s.payload = pkt.AsSlices()
	skip(&s.payload, pkt.HeaderSize())
	return s.reset(len(link)+len(network), pkt.GSOOptions.Type == stack.GSOTCPv6, int(pkt.GSOOptions.MSS), pkt.Data().Size(), swCsum)
}

// reset sets the layout of s.hdr (the TCP header at tcpOff) and the
// payload's size; it checks the IP header.
func (s *tcpSegmenter) reset(tcpOff int, v6 bool, mss, size int, swCsum bool) bool {
	s.tcpOff, s.v6, s.mss, s.size, s.swCsum = tcpOff, v6, mss, size, swCsum
	s.done, s.frames = 0, 0
	ip := s.hdr[header.EthernetMinimumSize:tcpOff]
	if v6 {
		return len(ip) >= header.IPv6MinimumSize && ip[0]>>4 == 6
	}
	return len(ip) >= header.IPv4MinimumSize && ip[0]>>4 == 4 && int(header.IPv4(ip).HeaderLength()) == len(ip)
}

// count is the number of frames the packet becomes: one for a packet
// that fits (a pure ACK has no payload), else one per MSS of payload.
func (s *tcpSegmenter) count() int {
	if s.mss <= 0 || s.size <= s.mss {
		return 1
	}
	return (s.size + s.mss - 1) / s.mss
}

// frameLen is the length of the next frame.
func (s *tcpSegmenter) frameLen() int {
	l := s.size - s.done
	if s.count() > 1 {
		l = min(l, s.mss)
	}
	return len(s.hdr) + l
}

// next writes the next frame into dst, which holds frameLen bytes, and
// returns its length.
func (s *tcpSegmenter) next(dst []byte) int {
	first, last := s.frames == 0, s.frames == s.count()-1
	l := s.frameLen() - len(s.hdr)
	copy(dst, s.hdr)
	end := len(s.hdr) + l
	takeInto(&s.payload, dst[len(s.hdr):end])

	ip := dst[header.EthernetMinimumSize:s.tcpOff]
	tcpLen := end - s.tcpOff
	var src, dstAddr tcpip.Address
	if s.v6 {
		h := header.IPv6(ip)
		h.SetPayloadLength(uint16(len(ip) - header.IPv6MinimumSize + tcpLen))
		src, dstAddr = h.SourceAddress(), h.DestinationAddress()
	} else {
		h := header.IPv4(ip)
		h.SetTotalLength(uint16(len(ip) + tcpLen))
		h.SetID(h.ID() + uint16(s.frames))
		h.SetChecksum(0)
		h.SetChecksum(^h.CalculateChecksum())
		src, dstAddr = h.SourceAddress(), h.DestinationAddress()
	}

	tcp := header.TCP(dst[s.tcpOff:end])
	tcp.SetSequenceNumber(tcp.SequenceNumber() + uint32(s.done))
	flags := tcp.Flags()
	if !last {
		flags &^= header.TCPFlagFin | header.TCPFlagPsh
	}
	if !first {
		flags &^= header.TCPFlagCwr
	}
	tcp.SetFlags(uint8(flags))
	if s.swCsum {
		tcp.SetChecksum(0)
		sum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dstAddr, uint16(tcpLen))
		tcp.SetChecksum(^checksum.Checksum(tcp, sum))
	}
	s.done += l
	s.frames++
	return end
}

// skip drops the first n bytes of the slices in *v.
func skip(v *[][]byte, n int) {
	for n > 0 && len(*v) > 0 {
		if k := len((*v)[0]); k <= n {
			n -= k
			*v = (*v)[1:]
			continue
		}
		(*v)[0] = (*v)[0][n:]
		return
	}
}

// takeInto fills dst from the front of the slices in *v and drops what
// it took.
func takeInto(v *[][]byte, dst []byte) {
	for len(dst) > 0 && len(*v) > 0 {
		if len((*v)[0]) == 0 {
			*v = (*v)[1:]
			continue
		}
		n := copy(dst, (*v)[0])
		dst = dst[n:]
		skip(v, n)
	}
}
