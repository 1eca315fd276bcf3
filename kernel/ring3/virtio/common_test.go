package virtio

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommonCfgRegisters(t *testing.T) {
	mem := make([]byte, 64)
	_, err := NewCommonCfg(mem[:0x20])
	assert.Error(t, err)
	c, err := NewCommonCfg(mem)
	require.NoError(t, err)

	c.SetDriverFeatures(0x1_0000_0020)
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(mem[ccDriverFeatureSelect:]), "high half written last")
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(mem[ccDriverFeature:]))

	assert.Equal(t, uint16(3), c.SetConfigMSIXVector(3))
	assert.Equal(t, uint16(3), binary.LittleEndian.Uint16(mem[0x10:]))
	binary.LittleEndian.PutUint16(mem[0x12:], 3)
	assert.Equal(t, uint16(3), c.NumQueues())
	c.SelectQueue(1)
	assert.Equal(t, uint16(1), binary.LittleEndian.Uint16(mem[0x16:]))
	c.SetQueueSize(128)
	assert.Equal(t, uint16(128), c.QueueSize())
	assert.Equal(t, uint16(2), c.SetQueueMSIXVector(2))
	assert.Equal(t, uint16(2), binary.LittleEndian.Uint16(mem[0x1a:]))
	c.SetQueueAddrs(0x1_2345_6000, 0x7000, 0x8_0000_8000)
	assert.Equal(t, uint64(0x1_2345_6000), binary.LittleEndian.Uint64(mem[0x20:]))
	assert.Equal(t, uint64(0x7000), binary.LittleEndian.Uint64(mem[0x28:]))
	assert.Equal(t, uint64(0x8_0000_8000), binary.LittleEndian.Uint64(mem[0x30:]))
	assert.False(t, c.QueueEnabled())
	c.EnableQueue()
	assert.True(t, c.QueueEnabled())
	binary.LittleEndian.PutUint16(mem[0x1e:], 5)
	assert.Equal(t, uint16(5), c.QueueNotifyOff())
}

func TestNegotiate(t *testing.T) {
	mem := make([]byte, 64)
	c, _ := NewCommonCfg(mem)
	mem[ccDeviceStatus] = StatusDriverOK // a device left running: reset first
	// Plain memory reads back what was written last: the device "offers"
	// what the select register last selected, so both halves read the
	// same word; offer VERSION_1 (bit 32) and MAC (bit 5) through it.
	binary.LittleEndian.PutUint32(mem[ccDeviceFeature:], 1|NetFeatureMAC)
	offered, got, err := c.Negotiate(NetFeatureMAC | NetFeatureStatus)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x21_0000_0021), offered)
	assert.Equal(t, uint64(FeatureVersion1|NetFeatureMAC), got)
	assert.Equal(t, uint8(StatusAcknowledge|StatusDriver|StatusFeaturesOK), c.Status())

	binary.LittleEndian.PutUint32(mem[ccDeviceFeature:], NetFeatureMAC) // no VERSION_1
	_, _, err = c.Negotiate(NetFeatureMAC)
	assert.ErrorIs(t, err, ErrNotVersion1)
	assert.NotZero(t, c.Status()&StatusFailed)
}

func TestNetHdr(t *testing.T) {
	h := NetHdr{Flags: NetHdrNeedsCsum, GSOType: NetGSONone, HdrLen: 54, GSOSize: 1448, CsumStart: 34, CsumOffset: 16, NumBuffers: 1}
	b := make([]byte, NetHdrSize)
	h.Encode(b)
	assert.Equal(t, []byte{1, 0, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 1, 0}, b)
	got, err := DecodeNetHdr(b)
	require.NoError(t, err)
	assert.Equal(t, h, got)
	_, err = DecodeNetHdr(b[:11])
	assert.Error(t, err)
}
