package pcilist

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHexMin checks the boot log's spelling of BAR addresses and sizes
// (the same as the listing the program's init used to print: 0x and the
// digits without leading zeros).
func TestHexMin(t *testing.T) {
	for v, want := range map[uint64]string{
		0: "0x0", 0x7: "0x7", 0x40: "0x40", 0xc000: "0xc000", 0xfebfe000: "0xfebfe000",
		0x800000000: "0x800000000", ^uint64(0): "0xffffffffffffffff",
	} {
		assert.Equal(t, want, hexMin(v))
	}
}
