package sched

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// napWait queues t on addr as a napping waiter, as kernel/fastfutex.go
// does: counted from before the read of the word, queued under the
// bucket lock only if the word still holds val. It reports whether t
// queued.
func napWait(f *Futexes, t TID, addr uintptr, word *atomic.Uint32, val uint32) bool {
	f.Reserve(addr)
	f.Lock(addr)
	queued := word.Load() == val
	if queued {
		f.NapWaitLocked(t, addr)
	}
	f.Unlock(addr)
	f.Unreserve(addr)
	return queued
}

// TestFutexNapWakes: a napping waiter is woken by WakeOne and by Claim
// (with or without a claimed CPU), never handed off, with an IPI only
// once it halts; EndNapWait tells a woken waiter from one still queued,
// and the bucket counts follow.
func TestFutexNapWakes(t *testing.T) {
	var f Futexes
	f.Init()
	const a = uintptr(0x1000)
	var word atomic.Uint32

	require.True(t, napWait(&f, 1, a, &word, 0))
	assert.True(t, f.MayHaveWaiters(a), "a napping waiter counts in its bucket")
	assert.False(t, f.NapWoken(1))
	require.True(t, f.NapHalting(1), "no wake yet: it may halt")
	w, how := f.WakeOne(a)
	assert.Equal(t, TID(1), w)
	assert.Equal(t, WokeNapper, how, "WakeOne reports a halted napper, whose CPU needs the IPI")
	assert.True(t, f.NapWoken(1), "the wake marks it woken before the bucket lock is released")
	assert.False(t, f.MayHaveWaiters(a))
	assert.False(t, f.EndNapWait(1), "woken: its FUTEX_WAIT returns 0")
	assert.False(t, f.NapWoken(1), "EndNapWait clears the mark")

	require.True(t, napWait(&f, 8, a, &word, 0))
	w, how = f.WakeOne(a)
	assert.Equal(t, TID(8), w)
	assert.Equal(t, WokePollingNapper, how, "a napper that still polls needs no IPI")
	assert.False(t, f.NapHalting(8), "a wake while it polled: it must not halt")
	assert.False(t, f.EndNapWait(8))

	require.True(t, napWait(&f, 2, a, &word, 0))
	require.True(t, f.NapHalting(2))
	w, r := f.Claim(a, false)
	assert.Equal(t, TID(2), w)
	assert.Equal(t, ClaimNapper, r, "a lock-free wake needs no halted CPU for a napper")
	assert.False(t, f.HandedOff(2), "a napper is never handed off")
	assert.False(t, f.EndNapWait(2))

	require.True(t, napWait(&f, 9, a, &word, 0))
	w, r = f.Claim(a, true)
	assert.Equal(t, TID(9), w)
	assert.Equal(t, ClaimPollingNapper, r)
	assert.False(t, f.EndNapWait(9))

	require.True(t, napWait(&f, 3, a, &word, 0))
	require.True(t, f.NapHalting(3))
	f.Wait(4, a) // a blocked waiter behind the napper
	w, r = f.Claim(a, true)
	assert.Equal(t, TID(3), w, "the oldest waiter first")
	assert.Equal(t, ClaimNapper, r)
	w, r = f.Claim(a, false)
	assert.Equal(t, None, w)
	assert.Equal(t, ClaimNeedsCPU, r, "a blocked waiter and no CPU to hand it to: nothing changes")
	assert.True(t, f.Waiting(4))
	w, r = f.Claim(a, true)
	assert.Equal(t, TID(4), w)
	assert.Equal(t, ClaimHandedOff, r)
	assert.True(t, f.HandedOff(4))
	assert.False(t, f.EndNapWait(3))
	_, r = f.Claim(a, true)
	assert.Equal(t, ClaimNobody, r)

	require.True(t, napWait(&f, 5, a, &word, 0))
	assert.True(t, f.EndNapWait(5), "not woken: still queued, now taken off")
	assert.False(t, f.Waiting(5))
	assert.False(t, f.MayHaveWaiters(a), "and no longer counted")
	assert.False(t, f.Remove(5), "a napper is in no locked wait for Remove to end")

	word.Store(1)
	assert.False(t, napWait(&f, 6, a, &word, 0), "a word that changed: EAGAIN, not queued")
	assert.False(t, f.MayHaveWaiters(a))
}

// TestFutexNapNoLostWakeup runs the napping FUTEX_WAIT against lock-free
// and locked FUTEX_WAKEs on the host, many times: the waiter queues as a
// napper (or sees the new word), "naps" until NapWoken or a time limit,
// then ends its wait with EndNapWait; the waker stores the word and, when
// MayHaveWaiters, wakes one waiter (Claim or WakeOne). Every wait must
// end in exactly one of: EAGAIN, woken by this waker, or still queued at
// the limit (then the locked path would read the new word). A woken
// waiter must be the one the waker reports, and no wake may be reported
// for a waiter that EndNapWait found still queued. Run with -race.
func TestFutexNapNoLostWakeup(t *testing.T) {
	var f Futexes
	f.Init()
	const addr = uintptr(0x4000)
	outcomes := map[string]int{}
	haltedWoken := 0
	for round := range 3000 {
		var word atomic.Uint32
		var halted, ipi atomic.Bool
		var wg sync.WaitGroup
		var waiterSaw string
		wg.Add(1)
		go func() { // the waiter: FUTEX_WAIT(addr, 0), napping
			defer wg.Done()
			if !napWait(&f, 7, addr, &word, 0) {
				waiterSaw = "EAGAIN"
				return
			}
			limit := time.Now().Add(time.Duration(round%3) * 50 * time.Microsecond)
			for !f.NapWoken(7) && time.Now().Before(limit) { // polling
			}
			if f.NapHalting(7) { // "halted" until the IPI, or the limit again
				halted.Store(true)
				limit = time.Now().Add(300 * time.Microsecond)
				for !ipi.Load() && time.Now().Before(limit) {
				}
			} else if !f.NapWoken(7) {
				waiterSaw = "NapHalting failed without a wake"
				return
			}
			if f.EndNapWait(7) {
				waiterSaw = "unwoken"
				return
			}
			waiterSaw = "woken"
		}()
		switch {
		case round%5 == 0:
			time.Sleep(150 * time.Microsecond) // after the poll: the waiter has halted
		case round%2 == 0:
			time.Sleep(time.Microsecond)
		}
		word.Store(1)
		wakerWoke := None
		if f.MayHaveWaiters(addr) {
			if round%4 < 2 {
				w, r := f.Claim(addr, round%4 == 0)
				if r == ClaimNapper || r == ClaimPollingNapper {
					wakerWoke = w
					ipi.Store(r == ClaimNapper)
				}
				assert.NotEqual(t, ClaimHandedOff, r, "round %d: a napper handed off", round)
			} else if w, how := f.WakeOne(addr); w != None {
				assert.NotEqual(t, WokeBlocked, how, "round %d", round)
				wakerWoke = w
				ipi.Store(how == WokeNapper)
			}
		}
		wg.Wait()
		outcomes[waiterSaw]++
		switch waiterSaw {
		case "woken":
			require.Equal(t, TID(7), wakerWoke, "round %d: woken, but not by the waker", round)
			if halted.Load() {
				require.True(t, ipi.Load(), "round %d: woken after it halted, with no IPI", round)
				haltedWoken++
			}
		default:
			require.Equal(t, None, wakerWoke, "round %d: the waker woke a waiter that saw %s: a wake lost", round, waiterSaw)
		}
		require.False(t, f.Waiting(7), "round %d: still queued after its wait ended", round)
		require.False(t, f.MayHaveWaiters(addr), "round %d: the count outlived the wait", round)
	}
	t.Logf("outcomes of 3000 napping waits: %v, %d woken after they halted", outcomes, haltedWoken)
	assert.Positive(t, outcomes["woken"]-haltedWoken, "no wait was woken while it polled")
	assert.Positive(t, haltedWoken, "no wait was woken after it halted")
	assert.Positive(t, outcomes["unwoken"], "no wait outlasted its limit")
}
