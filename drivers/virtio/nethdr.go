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
