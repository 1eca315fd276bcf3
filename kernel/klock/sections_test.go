package klock

import (
	"testing"

	"github.com/gometal/gometal/kernel/percpu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUserSections: a CPU's section count is odd from its take of the
// kernel or files lock (shared or not) until it holds neither, and
// unchanged by the memory lock and by a nested take; MayFaultIn holds in
// a section but not under the memory lock or outside a section.
func TestUserSections(t *testing.T) {
	c := &percpu.CPU{ID: 5}
	start := userSections[c.ID].Load()
	count := func() uint32 { return userSections[c.ID].Load() - start }

	assert.False(t, MayFaultIn(c), "outside a section")
	Kernel.Lock(c)
	assert.Equal(t, uint32(1), count(), "the kernel lock starts a section")
	assert.True(t, MayFaultIn(c))
	Files.Lock(c)
	assert.Equal(t, uint32(1), count(), "the files lock inside it does not start another")
	Mem.Lock(c)
	assert.Equal(t, uint32(1), count(), "nor does the memory lock")
	assert.False(t, MayFaultIn(c), "the memory lock held: a fault may not take it")
	Mem.Unlock(c)
	Files.Unlock(c)
	assert.Equal(t, uint32(1), count(), "the kernel lock still held")
	Kernel.Unlock(c)
	assert.Equal(t, uint32(2), count(), "both released: the section is over")

	since := Files.RLock(c)
	assert.Equal(t, uint32(3), count(), "a shared hold of the files lock starts one")
	assert.True(t, MayFaultIn(c))
	Files.Release(c, true, since, 0)
	assert.Equal(t, uint32(4), count())

	Mem.Lock(c)
	assert.Equal(t, uint32(4), count(), "the memory lock alone is no section")
	assert.False(t, MayFaultIn(c))
	Mem.Unlock(c)
}

// TestSectionsAwait: Await returns at once when no other CPU was in a
// section at Mark, or when the one that was has left it since (even if
// it entered another); it waits while one that was is still in its
// section. A CPU that enters a section after Mark is not waited for.
func TestSectionsAwait(t *testing.T) {
	me, other, late := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}, &percpu.CPU{ID: 2}
	saved := percpu.NOnline
	percpu.NOnline = 3
	t.Cleanup(func() { percpu.NOnline = saved })

	var s Sections
	s.Mark()
	s.Await(me) // nobody in a section

	since := Files.RLock(other)
	s.Mark()
	Kernel.Lock(late) // after the mark
	done := make(chan struct{})
	go func() { s.Await(me); close(done) }()
	require.True(t, waits(done), "Await did not wait for the section open at the mark")
	Files.Release(other, true, since, 0)
	since = Files.RLock(other) // a new section: not the one marked
	finished(t, done, "Await, the marked section over,")
	Files.Release(other, true, since, 0)
	Kernel.Unlock(late)
}
