package virtio

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mmioMem is a register window on plain memory: a "device" whose
// registers read back what was written.
func mmioMem(version, device uint32) []byte {
	mem := make([]byte, 0x200)
	binary.LittleEndian.PutUint32(mem[mmioMagicValue:], MMIOMagic)
	binary.LittleEndian.PutUint32(mem[mmioVersion:], version)
	binary.LittleEndian.PutUint32(mem[mmioDeviceID:], device)
	return mem
}

func TestNewMMIO(t *testing.T) {
	_, err := NewMMIO(mmioMem(2, DeviceNet)[:0x80])
	assert.ErrorContains(t, err, "register window")
	bad := mmioMem(2, DeviceNet)
	bad[0] = 0
	_, err = NewMMIO(bad)
	assert.ErrorContains(t, err, "magic")
	_, err = NewMMIO(mmioMem(1, DeviceNet))
	assert.ErrorContains(t, err, "legacy")
	_, err = NewMMIO(mmioMem(2, 0))
	assert.ErrorIs(t, err, ErrNoDevice)
	m, err := NewMMIO(mmioMem(2, DeviceNet))
	require.NoError(t, err)
	assert.Equal(t, uint32(DeviceNet), m.DeviceID())
}

func TestMMIORegisters(t *testing.T) {
	mem := mmioMem(2, DeviceNet)
	m, err := NewMMIO(mem)
	require.NoError(t, err)
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(mem[off:]) }

	m.SetDriverFeatures(0x1_0000_0020)
	assert.Equal(t, uint32(1), u32(mmioDriverFeaturesSel), "high half written last")
	assert.Equal(t, uint32(1), u32(mmioDriverFeatures))
	m.SelectQueue(1)
	assert.Equal(t, uint32(1), u32(mmioQueueSel))
	binary.LittleEndian.PutUint32(mem[mmioQueueNumMax:], 256)
	assert.Equal(t, uint16(256), m.QueueSizeMax())
	m.SetQueueSize(128)
	assert.Equal(t, uint32(128), u32(mmioQueueNum))
	m.SetQueueAddrs(0x1_2345_6000, 0x7000, 0x8_0000_8000)
	assert.Equal(t, []uint32{0x2345_6000, 1, 0x7000, 0, 0x8000, 8},
		[]uint32{u32(0x80), u32(0x84), u32(0x90), u32(0x94), u32(0xa0), u32(0xa4)})
	assert.False(t, m.QueueEnabled())
	m.EnableQueue()
	assert.True(t, m.QueueEnabled())
	m.Notify(0, 1)
	assert.Equal(t, uint32(1), u32(mmioQueueNotify))
	binary.LittleEndian.PutUint32(mem[mmioInterruptStatus:], MMIOUsedBuffer|MMIOConfigChange)
	assert.Equal(t, uint32(3), m.InterruptStatus())
	m.AckInterrupt(3)
	assert.Equal(t, uint32(3), u32(mmioInterruptACK))
	mem[MMIOConfig] = 0x52
	assert.Equal(t, uint8(0x52), Read8(m.Config(), 0))
	m.SetStatus(StatusAcknowledge)
	assert.Equal(t, uint32(StatusAcknowledge), u32(mmioStatus))
	n := 0
	m.DeviceConfig(func() { n++ })
	assert.Equal(t, 1, n, "a stable generation reads once")
}

func TestMMIONegotiate(t *testing.T) {
	mem := mmioMem(2, DeviceNet)
	m, err := NewMMIO(mem)
	require.NoError(t, err)
	// Plain memory returns the same word for both feature halves: 0x21
	// offers CSUM and MAC in the low half and VERSION_1 (bit 32) in the high.
	binary.LittleEndian.PutUint32(mem[mmioDeviceFeatures:], 0x21)
	offered, accepted, err := m.Negotiate(NetFeatureMAC)
	require.NoError(t, err)
	assert.Equal(t, uint64(0x21_0000_0021), offered)
	assert.Equal(t, uint64(FeatureVersion1|NetFeatureMAC), accepted)
	assert.Equal(t, uint8(StatusAcknowledge|StatusDriver|StatusFeaturesOK), m.Status())

	binary.LittleEndian.PutUint32(mem[mmioDeviceFeatures:], 0x20)
	_, _, err = m.Negotiate(NetFeatureMAC)
	assert.ErrorIs(t, err, ErrNotVersion1)
	assert.NotZero(t, m.Status()&StatusFailed)
}
