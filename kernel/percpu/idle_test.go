package percpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestIdleAt: a halt in progress counts up to now, or, once the CPU woke
// and waits for the kernel lock, up to its wake-up (HaltEnd), so that a
// reading is never more than the next one, which IdleNs then holds.
func TestIdleAt(t *testing.T) {
	c := &CPU{IdleNs: 100}
	assert.Equal(t, int64(100), c.IdleAt(5000), "not halted")
	c.HaltStart, c.HaltEnd = 1000, 500 // HaltEnd is the last halt's
	c.Idle.Store(true)
	assert.Equal(t, int64(600), c.IdleAt(1500), "halted since 1000")
	c.HaltEnd = 1200 // woke at 1200, waiting for the lock
	assert.Equal(t, int64(300), c.IdleAt(1500))
	c.IdleNs += c.HaltEnd - c.HaltStart // what halt does under the lock
	c.Idle.Store(false)
	assert.Equal(t, int64(300), c.IdleAt(1600), "the same once counted")
}
