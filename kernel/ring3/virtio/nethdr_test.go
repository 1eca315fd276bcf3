package virtio

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNetHdrRoundTrip(t *testing.T) {
	h := NetHdr{Flags: NetHdrNeedsCsum, GSOType: NetGSONone, HdrLen: 3, GSOSize: 4, CsumStart: 34, CsumOffset: 16, NumBuffers: 1}
	b := make([]byte, NetHdrSize)
	h.Encode(b)
	assert.Equal(t, []byte{1, 0, 3, 0, 4, 0, 34, 0, 16, 0, 1, 0}, b)
	got, err := DecodeNetHdr(b)
	require.NoError(t, err)
	assert.Equal(t, h, got)
	_, err = DecodeNetHdr(b[:NetHdrSize-1])
	assert.Error(t, err)
}

func TestChecksum(t *testing.T) {
	// RFC 1071 section 3's example: the sum of 0001 f203 f4f5 f6f7 is ddf2.
	assert.Equal(t, uint16(0xddf2), Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0))
	// An odd final byte is padded with zero; initial is added in.
	assert.Equal(t, uint16(0xab00), Checksum([]byte{0xab}, 0))
	assert.Equal(t, uint16(0x0001), Checksum([]byte{0xff, 0xff}, 1), "the carry wraps around")
	assert.Equal(t, uint16(0), Checksum(nil, 0))
	// The 8-byte loop and the 2-byte loop agree, at every length.
	b := make([]byte, 1501)
	for i := range b {
		b[i] = byte(i*13 + i>>8)
	}
	for n := 0; n <= len(b); n += 7 {
		var slow uint32
		for i := 0; i+1 < n; i += 2 {
			slow += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if n%2 == 1 {
			slow += uint32(b[n-1]) << 8
		}
		for slow>>16 != 0 {
			slow = slow&0xffff + slow>>16
		}
		require.Equal(t, uint16(slow), Checksum(b[:n], 0), "length %d", n)
	}
}

func TestCompleteChecksum(t *testing.T) {
	frame := make([]byte, 40)
	for i := range frame {
		frame[i] = byte(i * 31)
	}
	binary.BigEndian.PutUint16(frame[20+6:], 0x1234) // a "partial sum" in the field
	require.NoError(t, CompleteChecksum(frame, 20, 6))
	// A receiver adds the pseudo-header sum (what the field held) to the
	// completed range and gets negative zero.
	assert.Equal(t, uint16(0xffff), Checksum(frame[20:], 0x1234))
	assert.NotEqual(t, uint16(0xffff), Checksum(frame[20:], 0x1235))

	before := append([]byte(nil), frame...)
	assert.Error(t, CompleteChecksum(frame, 20, 19))
	assert.Error(t, CompleteChecksum(frame, 60, 0))
	assert.Equal(t, before, frame, "a failed completion changes nothing")
	assert.NoError(t, CompleteChecksum(frame, 20, 18), "the last two bytes")
}

func TestFeatureNames(t *testing.T) {
	assert.Equal(t, "CSUM GUEST_CSUM MTU MAC STATUS VERSION_1",
		FeatureNames(FeatureVersion1|NetFeatureMAC|NetFeatureStatus|NetFeatureMTU|NetFeatureCsum|NetFeatureGuestCsum|1<<40))
	assert.Equal(t, "", FeatureNames(0))
}
