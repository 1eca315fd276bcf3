package sysinfo

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFillRandomWithoutRDRAND: without RDRAND (QEMU's default CPU model)
// the fallback still fills every byte, including a tail shorter than a
// word, and two fills differ.
func TestFillRandomWithoutRDRAND(t *testing.T) {
	saved := HasRDRAND
	t.Cleanup(func() { HasRDRAND = saved })
	HasRDRAND = false

	a, b := make([]byte, 67), make([]byte, 67)
	FillRandom(a)
	FillRandom(b)
	assert.NotEqual(t, a, b, "two fills gave the same bytes")
	assert.NotEqual(t, make([]byte, 3), a[64:], "the tail after the last whole word was left zero")
}
