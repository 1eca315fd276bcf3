package thread

import (
	"encoding/binary"
	"testing"

	"github.com/gometal/gometal/kernel/percpu"
	"github.com/stretchr/testify/assert"
)

// fxArea returns a 16-byte aligned 512-byte FX area in a buffer filled
// with 0xaa (stale bytes), with MXCSR set to Go's default and distinct
// values in the XMM registers' slots, as a trap entry leaves it.
func fxArea() (area []byte, addr uintptr) {
	buf := make([]byte, 512+16)
	for i := range buf {
		buf[i] = 0xaa
	}
	off := int((16 - uintptr(ptrOf(&buf[0]))%16) % 16)
	area = buf[off : off+512]
	binary.LittleEndian.PutUint32(area[24:], 0x1f80)
	for i := 160; i < 416; i++ {
		area[i] = byte(i * 7)
	}
	return area, uintptr(ptrOf(&area[0]))
}

// TestSyncFPUCompletesLiveArea: with an area's x87 state live, SyncFPU
// fills the x87 part from the registers (this test process's x87 control
// word is Linux's default, 0x037f), keeps the XMM registers and MXCSR the
// entry saved, and clears X87Live, so the next exit restores in full.
func TestSyncFPUCompletesLiveArea(t *testing.T) {
	area, addr := fxArea()
	var c percpu.CPU
	c.X87Live = addr
	SyncFPU(&c)
	assert.Zero(t, c.X87Live, "the next exit must restore the whole area")
	assert.Equal(t, uint16(0x037f), binary.LittleEndian.Uint16(area[0:]), "x87 control word stored")
	assert.Equal(t, uint32(0x1f80), binary.LittleEndian.Uint32(area[24:]), "MXCSR kept")
	for i := 160; i < 416; i++ {
		if !assert.Equal(t, byte(i*7), area[i], "XMM byte %d: the entry's values must survive", i) {
			break
		}
	}
}
