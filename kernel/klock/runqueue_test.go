package klock

import (
	"time"

	"testing"

	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunQueueSteal: while another CPU's steal holds a CPU's run-queue
// lock, that CPU's own take fails, holding nothing and recording no lock
// held (its entry goes to the kernel lock's path), and a second steal
// fails too; a steal fails against the CPU's own hold. No take waits.
func TestRunQueueSteal(t *testing.T) {
	c0, c1 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}
	require.True(t, TryLockRunQueue(c0))
	require.True(t, TryLockOtherRunQueue(1), "CPU 0 steals from CPU 1's queue")
	assert.False(t, TryLockRunQueue(c1), "CPU 1's own take while the steal holds its lock")
	assert.Zero(t, heldLocks[1], "a failed take records no lock held")
	assert.False(t, TryLockOtherRunQueue(1), "a second steal of a held lock")
	UnlockOtherRunQueue(1)
	assert.Equal(t, uint32(1), runQueueHeld[0].Load(), "the stealer's own lock is still held")
	require.True(t, TryLockRunQueue(c1), "CPU 1's lock is free again")
	assert.False(t, TryLockOtherRunQueue(1), "a steal against the CPU's own hold")
	assert.False(t, TryLockOtherRunQueue(0))
	UnlockRunQueue(c1)
	UnlockRunQueue(c0)
	assert.Zero(t, runQueueHeld[0].Load()+runQueueHeld[1].Load())
	assert.Zero(t, heldLocks[0]|heldLocks[1])
}

// TestLockRunQueueWaiting: a take that the kernel lock's holder refuses
// waits, holding nothing, for that lock's release and then takes the
// run-queue lock; one that a steal refuses waits for the steal's
// release; one by a CPU that holds a lock does not wait.
func TestLockRunQueueWaiting(t *testing.T) {
	c0 := &percpu.CPU{ID: 0}
	require.True(t, spin.KernelLock.TryLock(1), "CPU 1 holds the kernel lock")
	got := make(chan bool)
	go func() { got <- LockRunQueueWaiting(c0) }()
	select {
	case <-got:
		t.Fatal("the take did not wait for the kernel lock's release")
	case <-time.After(50 * time.Millisecond):
	}
	assert.Zero(t, runQueueHeld[0].Load(), "nothing held while it waits")
	spin.KernelLock.Unlock(1)
	select {
	case ok := <-got:
		require.True(t, ok, "taken once the kernel lock was released")
	case <-time.After(10 * time.Second):
		t.Fatal("the take still waits after the release")
	}
	assert.Equal(t, uint32(1), runQueueHeld[0].Load())
	UnlockRunQueue(c0)

	require.True(t, TryLockOtherRunQueue(0), "another CPU's steal holds CPU 0's lock")
	go func() { got <- LockRunQueueWaiting(c0) }()
	select {
	case <-got:
		t.Fatal("the take did not wait for the steal's release")
	case <-time.After(50 * time.Millisecond):
	}
	UnlockOtherRunQueue(0)
	select {
	case ok := <-got:
		require.True(t, ok, "taken once the steal released it")
	case <-time.After(10 * time.Second):
		t.Fatal("the take still waits after the steal's release")
	}
	UnlockRunQueue(c0)

	c1 := &percpu.CPU{ID: 1}
	require.True(t, TryLockRunQueue(c1), "CPU 1 holds its own run-queue lock")
	require.True(t, TryLockOtherRunQueue(0), "CPU 1 steals from CPU 0")
	heldLocks[0].acquire(RankKernel) // as if CPU 0 held the kernel lock
	go func() { got <- LockRunQueueWaiting(c0) }()
	select {
	case ok := <-got:
		assert.False(t, ok, "refused: a CPU that holds a lock does not wait")
	case <-time.After(10 * time.Second):
		t.Fatal("a CPU that holds a lock waits for a steal")
	}
	heldLocks[0].release(RankKernel)
	UnlockOtherRunQueue(0)
	UnlockRunQueue(c1)
	assert.Zero(t, heldLocks[0]|heldLocks[1])
}

// TestWaitRunQueue: a CPU holding nothing waits while another CPU holds
// a run-queue lock, ends its wait once that lock is released, and does
// not wait while the kernel lock is held (its holder waits for the same
// release, and the caller's next take waits for the kernel lock).
func TestWaitRunQueue(t *testing.T) {
	c0, c1 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}
	_, cont0, spin0, _, _, _ := runQueueStats.Counts()
	WaitRunQueue(c0, 1) // free: returns at once
	_, cont, _, _, _, _ := runQueueStats.Counts()
	assert.Equal(t, cont0, cont, "no wait, no contention")
	require.True(t, TryLockRunQueue(c1), "CPU 1 holds its own run-queue lock")
	done := make(chan struct{})
	go func() { WaitRunQueue(c0, 1); close(done) }()
	select {
	case <-done:
		t.Fatal("the wait ended while CPU 1's lock was held")
	case <-time.After(50 * time.Millisecond):
	}
	UnlockRunQueue(c1)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the wait goes on after the release")
	}
	_, cont, spinCycles, _, _, _ := runQueueStats.Counts()
	assert.Equal(t, cont0+1, cont, "the wait counts as a contention")
	assert.Greater(t, spinCycles, spin0, "with its cycles")

	require.True(t, TryLockOtherRunQueue(1), "a steal holds CPU 1's lock")
	require.True(t, spin.KernelLock.TryLock(2), "CPU 2 holds the kernel lock")
	WaitRunQueue(c0, 1) // the kernel lock held: returns at once
	spin.KernelLock.Unlock(2)
	UnlockOtherRunQueue(1)
	assert.Zero(t, heldLocks[0], "the wait takes nothing")
}
