package vm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSuggestMiB checks the "boot with at least" size: always above the
// -m that failed, whether the firmware kept some of the top of RAM
// (SeaBIOS keeps 128 KiB) or none (qboot), and enough for the shortfall
// with the page-table reserve's share.
func TestSuggestMiB(t *testing.T) {
	const mib = 1 << 20
	assert.Equal(t, uint64(17), suggestMiB(16*mib-128<<10, 20<<10), "SeaBIOS at -m 16M, 20 KiB short")
	assert.Equal(t, uint64(17), suggestMiB(16*mib, 4<<10), "qboot at -m 16M, 4 KiB short")
	assert.Equal(t, uint64(18), suggestMiB(16*mib, mib+1), "more than a MiB short")
	for _, top := range []uint64{15*mib + 1, 16*mib - 128<<10, 16 * mib} {
		for _, short := range []uint64{1, 4 << 10, mib - 1, mib, 3 * mib} {
			got := suggestMiB(top, short)
			assert.Greater(t, got*mib, (top+mib-1)&^(mib-1), "RAM top %#x short %d: above the -m that failed", top, short)
			assert.GreaterOrEqual(t, got*mib, top+short+short/128, "RAM top %#x short %d: covers the shortfall", top, short)
		}
	}
}
