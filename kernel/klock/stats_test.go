package klock

import (
	"sync"
	"testing"

	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestLockStats: acquisitions, contended ones and their spin, total and
// longest hold, converted to nanoseconds at the TSC rate; reset zeroes.
func TestLockStats(t *testing.T) {
	var s Stats
	s.acquired(false, 50) // uncontended: its spin is the CAS itself, not counted
	s.released(1000, 1)
	s.acquired(true, 4000)
	s.released(3000, 2)
	s.acquired(true, 2000)
	s.released(2000, 3)
	const twoGHz = (1e9 << 32) / 2e9 // 0.5 ns per cycle
	assert.Equal(t, lockSnapshot{Acquisitions: 3, Contentions: 2, SpinNs: 3000, HoldNs: 3000, LongestNs: 1500},
		s.snapshot(twoGHz))
	assert.Equal(t, uint64(2), s.longestBy.Load(), "the longest hold's tag")
	s.reset()
	assert.Equal(t, lockSnapshot{}, s.snapshot(twoGHz))
	assert.Zero(t, s.longestBy.Load())
}

// TestLockStatsLongestConcurrent: releases from several CPUs at once keep
// the largest hold (the compare-and-swap loop loses none).
func TestLockStatsLongestConcurrent(t *testing.T) {
	var s Stats
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				s.released(uint64(g*1000+i), uint64(g))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(7999), s.longest.Load())
	assert.Equal(t, uint64(7), s.longestBy.Load())
}

func TestCyclesToNs(t *testing.T) {
	assert.Equal(t, uint64(1000), cyclesToNs(4000, (1e9<<32)/4e9), "4 GHz")
	assert.Equal(t, uint64(999), cyclesToNs(3000, uint64(1e9<<32)/uint64(3e9)), "3 GHz rounds down")
	assert.Equal(t, uint64(1)<<40, cyclesToNs(1<<40, 1<<32), "1 GHz, large counts")
}

// TestHoldTags: a trap's hold tag prints as the system call's name, the
// interrupt or the exception; the lock line ends with the longest
// holder's.
func TestHoldTags(t *testing.T) {
	word := func(tag uint64) string {
		var f kfiles.File
		writeHoldTag(kfiles.Writer{F: &f}, tag)
		return string(f.Data[:f.N])
	}
	assert.Equal(t, "getppid", word(TrapTag(&x86.TrapFrame{Vector: x86.VecSyscall, AX: unix.SYS_GETPPID})))
	assert.Equal(t, "syscall_999", word(TrapTag(&x86.TrapFrame{Vector: x86.VecSyscall, AX: 999})))
	assert.Equal(t, "timer", word(TrapTag(&x86.TrapFrame{Vector: x86.VecTimer, AX: 5})), "AX means nothing for an interrupt")
	assert.Equal(t, "kick", word(TrapTag(&x86.TrapFrame{Vector: x86.VecKick})))
	assert.Equal(t, "page_fault", word(TrapTag(&x86.TrapFrame{Vector: x86.VecPageFault})))
	assert.Equal(t, "exception_0", word(TrapTag(&x86.TrapFrame{Vector: 0})))
	assert.Equal(t, "irq_48", word(TrapTag(&x86.TrapFrame{Vector: 48})))
	assert.Equal(t, "other", word(0))

	var s Stats
	s.acquired(true, 10)
	s.released(100, TrapTag(&x86.TrapFrame{Vector: x86.VecSyscall, AX: unix.SYS_MMAP}))
	var f kfiles.File
	WriteStats(kfiles.Writer{F: &f}, "kernel", &s)
	assert.Regexp(t, `^kernel 1 1 \d+ \d+ \d+ mmap\n$`, string(f.Data[:f.N]))
}
