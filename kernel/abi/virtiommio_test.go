package abi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseVirtioMMIO(t *testing.T) {
	tests := []struct {
		in         string
		base, size uint64
		irq        uint32
		ok         bool
	}{
		{"512@0xfeb00e00:12", 0xfeb00e00, 512, 12, true},
		{"4K@0xd0000000:5", 0xd0000000, 4096, 5, true},   // Firecracker's form
		{"4K@0xd0001000:6:1", 0xd0001000, 4096, 6, true}, // with a device ID
		{"1M@4096:33", 4096, 1 << 20, 33, true},
		{"0x200@0xFEB00E00:47", 0xfeb00e00, 0x200, 47, true},
		{"", 0, 0, 0, false},
		{"512", 0, 0, 0, false},
		{"512@0xfeb00e00", 0, 0, 0, false},
		{"512@:12", 0, 0, 0, false},
		{"0@0x1000:5", 0, 0, 0, false},
		{"512@0xfeb00e00:x", 0, 0, 0, false},
		{"512@0xfeb00e00:12junk", 0, 0, 0, false},
		{"512@0x1fffffffffffffffff:1", 0, 0, 0, false},
		{"4T@0x1000:1", 0, 0, 0, false},
	}
	for _, tt := range tests {
		base, size, irq, ok := ParseVirtioMMIO([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		if tt.ok {
			assert.Equal(t, tt.base, base, "%q", tt.in)
			assert.Equal(t, tt.size, size, "%q", tt.in)
			assert.Equal(t, tt.irq, irq, "%q", tt.in)
		}
	}
	assert.True(t, KernelOption([]byte("virtio_mmio.device=4K@0xd0000000:5")))
}
