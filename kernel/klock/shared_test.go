package klock

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waits reports whether done stays open for 50 ms: the call it stands
// for is waiting.
func waits(done <-chan struct{}) bool {
	select {
	case <-done:
		return false
	case <-time.After(50 * time.Millisecond):
		return true
	}
}

// finished fails the test unless done closes within 10 s.
func finished(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal(what + " still waits")
	}
}

// TestFilesSharedHolds: two CPUs hold the files lock shared at once,
// each with the files rank recorded; an exclusive take waits until both
// have let go, and a shared take that comes while it waits waits behind
// it, until its release; the shared holds are counted apart (one of them
// contended), with their lengths and the longest one's hold tag, and a
// release leaves no rank behind.
func TestFilesSharedHolds(t *testing.T) {
	sharedStats.Reset()
	Files.ResetStats()
	c0, c1, c2, c3 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}, &percpu.CPU{ID: 2}, &percpu.CPU{ID: 3}
	since0 := Files.RLock(c0)
	since1 := Files.RLock(c1) // does not wait: beside c0
	assert.Equal(t, int32(2), spin.FilesLock.Readers())
	assert.Equal(t, lockSet(1<<RankFiles), heldLocks[0]|heldLocks[1])
	assert.NotZero(t, heldLocks[0]&heldLocks[1], "both record the files rank")

	exclusive := make(chan struct{})
	go func() { Files.Lock(c2); close(exclusive) }()
	require.True(t, waits(exclusive), "the exclusive take did not wait for the readers")
	require.Eventually(t, spin.FilesLock.Held, 10*time.Second, time.Millisecond, "the taker holds held while it waits")
	shared := make(chan struct{})
	var since3 uint64
	go func() { since3 = Files.RLock(c3); close(shared) }()
	require.True(t, waits(shared), "a new reader came in beside a waiting exclusive taker")

	Files.Release(c0, true, since0, 5)
	require.True(t, waits(exclusive), "the exclusive take went on with a reader still in")
	Files.Release(c1, true, since1, 6)
	finished(t, exclusive, "the exclusive take, both readers gone,")
	require.True(t, waits(shared), "a reader came in beside the exclusive holder")
	assert.True(t, Files.HeldBy(c2))
	Files.Release(c2, false, 0, 0)
	finished(t, shared, "the reader, the exclusive hold over,")
	Files.Release(c3, true, since3, 7)

	assert.Zero(t, spin.FilesLock.Readers())
	assert.False(t, spin.FilesLock.Held())
	assert.Zero(t, heldLocks[0]|heldLocks[1]|heldLocks[2]|heldLocks[3])
	acq, cont, _, hold, longest, by := sharedStats.Counts()
	assert.Equal(t, [2]uint64{3, 1}, [2]uint64{acq, cont}, "three shared holds, one waited for")
	assert.Positive(t, longest, "each hold's length from its RLock's answer")
	assert.LessOrEqual(t, longest, hold)
	assert.Contains(t, []uint64{5, 6}, by, "the longest hold was c0's or c1's, across the exclusive take's wait")
	acq, cont, _, _, _, _ = Files.Stats().Counts()
	assert.Equal(t, [2]uint64{1, 1}, [2]uint64{acq, cont}, "one exclusive hold, which waited")
}

// TestFilesTryRLock: a take in one try (an epoll_wait's second look
// under a run-queue lock) comes in beside a shared holder, counted as a
// shared hold with the files rank recorded; it is refused, holding
// nothing and no rank, while another CPU holds the lock exclusively or
// waits to (a reader that came in then would keep that taker waiting
// behind a hold that itself never waits); and it is in the lock order
// after a run-queue lock.
func TestFilesTryRLock(t *testing.T) {
	sharedStats.Reset()
	c0, c1, c2 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}, &percpu.CPU{ID: 2}
	since0 := Files.RLock(c0)
	since1, ok := Files.TryRLock(c1)
	require.True(t, ok, "beside a shared holder")
	assert.Equal(t, int32(2), spin.FilesLock.Readers())
	assert.Equal(t, lockSet(1<<RankFiles), heldLocks[1])

	exclusive := make(chan struct{})
	go func() { Files.Lock(c2); close(exclusive) }()
	require.Eventually(t, spin.FilesLock.Held, 10*time.Second, time.Millisecond, "the taker holds held while it waits")
	Files.Release(c1, true, since1, 0)
	_, ok = Files.TryRLock(c1)
	assert.False(t, ok, "refused while an exclusive taker waits")
	assert.Zero(t, heldLocks[1], "a refused take holds no rank")
	Files.Release(c0, true, since0, 0)
	finished(t, exclusive, "the exclusive take, the readers gone,")
	_, ok = Files.TryRLock(c1)
	assert.False(t, ok, "refused while another CPU holds it exclusively")
	assert.Zero(t, heldLocks[1])
	Files.Release(c2, false, 0, 0)

	require.True(t, TryLockRunQueue(c1), "c1's run-queue lock")
	since1, ok = Files.TryRLock(c1)
	require.True(t, ok, "after a run-queue lock, in the lock order")
	assert.Equal(t, lockSet(1<<RankRunQueue|1<<RankFiles), heldLocks[1])
	Files.Release(c1, true, since1, 0)
	UnlockRunQueue(c1)
	assert.Zero(t, heldLocks[0]|heldLocks[1]|heldLocks[2])
	assert.Zero(t, spin.FilesLock.Readers())
	acq, _, _, _, _, _ := sharedStats.Counts()
	assert.Equal(t, uint64(3), acq, "c0's hold and c1's two taken")
}

// TestFilesSharedExclusion: CPUs taking the files lock shared and
// exclusively at random never see an exclusive holder beside anyone: a
// writer changes two words one after the other and checks that no other
// CPU is in; readers check that the two words agree and count how often
// another reader was in beside them.
func TestFilesSharedExclusion(t *testing.T) {
	const cpus, rounds = 6, 3000
	var x, y, inside, writers atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	for id := range cpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &percpu.CPU{ID: id}
			for i := range rounds {
				if (i+id)%3 == 0 {
					Files.Lock(c)
					if inside.Add(1) != 1 || writers.Add(1) != 1 {
						errs.Add(1)
					}
					v := x.Load() + 1
					x.Store(v)
					y.Store(v)
					writers.Add(-1)
					inside.Add(-1)
					Files.Release(c, false, 0, 0)
					continue
				}
				since := Files.RLock(c)
				inside.Add(1)
				if writers.Load() != 0 || y.Load() != x.Load() {
					errs.Add(1)
				}
				inside.Add(-1)
				Files.Release(c, true, since, 0)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, errs.Load(), "a hold beside an exclusive holder")
	assert.Equal(t, int64(cpus*rounds/3), x.Load(), "every exclusive hold's change is there")
	assert.Zero(t, spin.FilesLock.Readers())
	assert.False(t, spin.FilesLock.Held())
}
