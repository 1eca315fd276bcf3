package debugexit

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEncode(t *testing.T) {
	assert.Equal(t, uint32(0), Encode(0))
	assert.Equal(t, uint32(3), Encode(3))
	assert.Equal(t, uint32(126), Encode(126))
	assert.Equal(t, uint32(126), Encode(127))
	assert.Equal(t, uint32(126), Encode(255))
	assert.Equal(t, uint32(126), Encode(-1))
	// The harness decodes (v<<1)|1; a panic must not be confused with a status.
	assert.NotEqual(t, Encode(1000), uint32(KernelPanic))
}
