package sched

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameBucket returns an address other than addr in addr's bucket.
func sameBucket(t *testing.T, addr uintptr) uintptr {
	for a := addr + 4; a < addr+1<<20; a += 4 {
		if bucket(a) == bucket(addr) {
			return a
		}
	}
	t.Fatal("no other address in the bucket")
	return 0
}

// wakeBlocked is WakeOne for tests whose waiters all block (none naps).
func wakeBlocked(t *testing.T, f *Futexes, addr uintptr) TID {
	w, how := f.WakeOne(addr)
	assert.Equal(t, WokeBlocked, how, "a waiter that blocked is reported napping")
	return w
}

// TestFutexWaiterCount: a bucket's count is its queued waiters plus
// reserved FUTEX_WAITs, through Wait, WakeOne, Remove and Reserve.
func TestFutexWaiterCount(t *testing.T) {
	var f Futexes
	f.Init()
	const a = uintptr(0x1000)
	b := sameBucket(t, a)
	other := uintptr(0x2000)
	require.NotEqual(t, bucket(a), bucket(other))
	assert.False(t, f.MayHaveWaiters(a), "an empty table has no waiters")

	f.Reserve(a)
	assert.True(t, f.MayHaveWaiters(a), "a FUTEX_WAIT that has not read the word yet counts")
	f.Wait(1, a)
	f.Unreserve(a)
	assert.Equal(t, int32(1), f.count[bucket(a)], "queued: counted once")
	f.Wait(2, b)
	assert.Equal(t, int32(2), f.count[bucket(a)])
	assert.False(t, f.MayHaveWaiters(other))

	assert.Equal(t, TID(1), wakeBlocked(t, &f, a))
	assert.True(t, f.MayHaveWaiters(a), "thread 2 in the same bucket sends a's wakers to the locked path")
	assert.True(t, f.Remove(2))
	assert.False(t, f.Remove(2))
	assert.False(t, f.MayHaveWaiters(a))
	assert.Equal(t, None, wakeBlocked(t, &f, a))
	assert.Equal(t, int32(0), f.count[bucket(a)], "a wake of nobody leaves the count alone")

	f.Reserve(a) // a FUTEX_WAIT that found the word changed (EAGAIN)
	f.Unreserve(a)
	assert.False(t, f.MayHaveWaiters(a))

	f.Wait(3, a)
	f.Init()
	assert.False(t, f.MayHaveWaiters(a), "Init empties the counts")
}

// TestFutexNoLostWakeup runs the kernel's protocol between a FUTEX_WAIT
// and a lock-free FUTEX_WAKE many times on the host, with a mutex as the
// kernel lock: the waiter reserves, reads the word and queues under the
// lock; the waker stores the word and wakes through the lock only when
// MayHaveWaiters. Every waiter must be woken or see the new word. (The
// host's Go atomics are sequentially consistent, so this checks the
// protocol's logic; the x86 ordering argument is MayHaveWaiters' doc.)
func TestFutexNoLostWakeup(t *testing.T) {
	var f Futexes
	f.Init()
	var kernel sync.Mutex
	const addr = uintptr(0x4000)
	fast := 0
	for round := range 2000 {
		var word atomic.Uint32
		woken := make(chan struct{})
		done := make(chan string)
		go func() { // the waiter: FUTEX_WAIT(addr, 0)
			kernel.Lock()
			f.Reserve(addr)
			if word.Load() != 0 {
				f.Unreserve(addr)
				kernel.Unlock()
				done <- "EAGAIN"
				return
			}
			f.Wait(7, addr)
			f.Unreserve(addr)
			kernel.Unlock()
			select {
			case <-woken:
				done <- "woken"
			case <-time.After(5 * time.Second):
				done <- "lost wake-up"
			}
		}()
		if round%2 == 0 {
			time.Sleep(time.Microsecond) // let some waiters queue first
		}
		word.Store(1) // the waker: unlock in ring 3, then FUTEX_WAKE(addr, 1)
		if f.MayHaveWaiters(addr) {
			kernel.Lock()
			if w := wakeBlocked(t, &f, addr); w != None {
				close(woken)
			}
			kernel.Unlock()
		} else {
			fast++
		}
		require.NotEqual(t, "lost wake-up", <-done, "round %d", round)
		kernel.Lock()
		f.Remove(7) // a waiter the waker missed would still be queued
		kernel.Unlock()
	}
	t.Logf("%d of 2000 wakes took the lock-free path", fast)
	assert.Positive(t, fast, "some wakes came before the waiter reserved")
}
