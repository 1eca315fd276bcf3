package klock

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLockOrder: a CPU may take locks in rising rank only; a lock of the
// same or a lower rank than one it holds is refused, naming the highest
// held, and leaves the set as it was; releases reopen the order; unranked
// locks are never checked.
func TestLockOrder(t *testing.T) {
	var s lockSet
	_, ok := s.acquire(2)
	assert.True(t, ok)
	_, ok = s.acquire(5)
	assert.True(t, ok, "rising ranks")

	held, ok := s.acquire(3)
	assert.False(t, ok, "a deliberate inversion: rank 3 while holding 5")
	assert.Equal(t, Rank(5), held, "the report names the highest rank held")
	held, ok = s.acquire(5)
	assert.False(t, ok, "the same rank twice: a CPU relocking, or two locks of one class")
	assert.Equal(t, Rank(5), held)
	assert.Equal(t, lockSet(1<<2|1<<5), s, "a refused acquisition changes nothing")

	s.release(5)
	_, ok = s.acquire(3)
	assert.True(t, ok, "after 5 is released, 3 may follow 2")
	held, ok = s.acquire(1)
	assert.False(t, ok)
	assert.Equal(t, Rank(3), held)

	_, ok = s.acquire(RankNone)
	assert.True(t, ok, "unranked locks are not checked")
	s.release(3)
	s.release(2)
	assert.Zero(t, s)

	_, ok = s.acquire(maxRank)
	assert.True(t, ok, "the highest rank fits")
	_, ok = s.acquire(RankKernel)
	assert.False(t, ok)
}

// TestKernelLockRanked: the kernel lock has its rank, and the kernel
// lock taken twice on one CPU is a violation rather than a hang.
func TestKernelLockRanked(t *testing.T) {
	assert.Equal(t, RankKernel, Kernel.rank)
	assert.Equal(t, "kernel", rankName(RankKernel))
	assert.Equal(t, "another lock", rankName(40))
	var s lockSet
	_, ok := s.acquire(Kernel.rank)
	assert.True(t, ok)
	held, ok := s.acquire(Kernel.rank)
	assert.False(t, ok)
	assert.Equal(t, "kernel", rankName(held))
}

// TestFilesLockRanked: the files lock sits between the kernel lock and
// the memory lock: taken inside the first, around the second.
func TestFilesLockRanked(t *testing.T) {
	assert.Equal(t, RankFiles, Files.rank)
	assert.Equal(t, "files", rankName(RankFiles))
	assert.Less(t, Kernel.rank, Files.rank)
	assert.Less(t, Files.rank, Mem.rank)
	var s lockSet
	_, ok := s.acquire(Kernel.rank)
	assert.True(t, ok)
	_, ok = s.acquire(Files.rank)
	assert.True(t, ok, "kernel, then files")
	_, ok = s.acquire(Mem.rank)
	assert.True(t, ok, "files, then memory")
	s.release(Mem.rank)
	s.release(Files.rank)
	s.release(Kernel.rank)
	_, ok = s.acquire(Files.rank)
	assert.True(t, ok, "the files lock alone (kernel/filetrap.go)")
	held, ok := s.acquire(Kernel.rank)
	assert.False(t, ok, "the kernel lock inside the files lock is against the order")
	assert.Equal(t, "files", rankName(held))
	assert.NotSame(t, Kernel.state(), Files.state())
	assert.NotSame(t, Mem.state(), Files.state())
}
