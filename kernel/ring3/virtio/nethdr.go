package virtio

import (
	"encoding/binary"
	"fmt"
)

// NetHdrSize is the size of struct virtio_net_hdr once VIRTIO_F_VERSION_1
// is negotiated (spec 5.1.6): num_buffers is always present.
const NetHdrSize = 12

// NetHdr flags and GSO types.
const (
	NetHdrNeedsCsum = 1 // the device must complete the checksum at CsumStart+CsumOffset
	NetHdrDataValid = 2 // the device validated the checksum (receive only)
	NetHdrRscInfo   = 4

	NetGSONone = 0
)

// NetHdr is the header in front of every packet on a virtio-net queue.
type NetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
	NumBuffers uint16
}

// Encode writes h into the first NetHdrSize bytes of b.
func (h NetHdr) Encode(b []byte) {
	_ = b[NetHdrSize-1]
	b[0], b[1] = h.Flags, h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
	binary.LittleEndian.PutUint16(b[10:], h.NumBuffers)
}

// DecodeNetHdr reads the header at the start of b.
func DecodeNetHdr(b []byte) (NetHdr, error) {
	if len(b) < NetHdrSize {
		return NetHdr{}, fmt.Errorf("virtio: net header of %d bytes, want %d", len(b), NetHdrSize)
	}
	return NetHdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.LittleEndian.Uint16(b[2:]),
		GSOSize:    binary.LittleEndian.Uint16(b[4:]),
		CsumStart:  binary.LittleEndian.Uint16(b[6:]),
		CsumOffset: binary.LittleEndian.Uint16(b[8:]),
		NumBuffers: binary.LittleEndian.Uint16(b[10:]),
	}, nil
}

// CompleteChecksum does what a device does for a packet sent with
// NetHdrNeedsCsum (spec 5.1.6.2): the Internet checksum (RFC 1071) of
// frame from start to its end, which includes the partial sum the sender
// left in the checksum field, complemented and stored big-endian at
// start+offset. A driver needs it for a received frame whose partial
// checksum it cannot leave to the stack. It fails, changing nothing, when
// the field is not inside frame.
func CompleteChecksum(frame []byte, start, offset uint16) error {
	at := int(start) + int(offset)
	if at+2 > len(frame) {
		return fmt.Errorf("virtio: checksum field at %d+%d outside a %d-byte frame", start, offset, len(frame))
	}
	binary.BigEndian.PutUint16(frame[at:], ^Checksum(frame[start:], 0))
	return nil
}

// Checksum returns the folded 16-bit one's complement sum of b (an odd
// final byte is padded with zero) added to initial; the Internet checksum
// is its complement.
func Checksum(b []byte, initial uint16) uint16 {
	sum := uint64(initial)
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		sum += v >> 48
		sum += v >> 32 & 0xffff
		sum += v >> 16 & 0xffff
		sum += v & 0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}
