package percpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIdleAt: a halt in progress counts up to now, or, once the CPU woke
// and waits for the kernel lock, up to its wake-up (HaltEnd); a reading
// is never less than the one before.
func TestIdleAt(t *testing.T) {
	c := &CPU{IdleNs: 100}
	assert.Equal(t, int64(100), c.IdleAt(900), "not halted")

	c.HaltStart, c.HaltEnd = 1000, 500 // HaltEnd is the last halt's
	c.Idle.Store(true)
	assert.Equal(t, int64(600), c.IdleAt(1500), "halted since 1000")
	c.HaltEnd = 1700 // woke at 1700, waiting for the lock
	assert.Equal(t, int64(800), c.IdleAt(1800), "up to the wake-up, not to now")
	c.IdleNs += c.HaltEnd - c.HaltStart // what halt does under the lock
	c.Idle.Store(false)
	assert.Equal(t, int64(800), c.IdleAt(1900), "the same once counted")

	// A reading between the wake-up's clock read (2100) and the store of
	// HaltEnd counts to its own now (2150); the next one does not go back.
	c.HaltStart = 2000
	c.Idle.Store(true)
	assert.Equal(t, int64(950), c.IdleAt(2150))
	c.HaltEnd = 2100
	c.IdleNs += c.HaltEnd - c.HaltStart
	c.Idle.Store(false)
	assert.Equal(t, int64(950), c.IdleAt(2200), "not 900: a reading never goes back")
}
