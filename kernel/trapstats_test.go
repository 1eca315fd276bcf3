package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrapStatLines checks the /proc/gometal/sched tables that print a
// name string beside an event table: a name per event, each followed by
// a space (firstWord would read past the string's end otherwise), no
// name twice; and the lines they print, from counts set on two CPUs.
func TestTrapStatLines(t *testing.T) {
	for _, c := range []struct {
		names string
		n     int
	}{{trapStatNames, len(trapStatEvents)}, {fastStatNames, len(fastStatEvents)}} {
		require.True(t, strings.HasSuffix(c.names, " "), "%q ends with a space", c.names)
		words := strings.Fields(c.names)
		require.Len(t, words, c.n, "a name per line: %q", c.names)
		seen := map[string]bool{}
		for _, w := range words {
			assert.Regexp(t, `^[a-z_0-9]+$`, w)
			assert.False(t, seen[w], "%s named twice", w)
			seen[w] = true
		}
	}

	oldOnline, oldEvents := percpu.NOnline, percpu.Events
	t.Cleanup(func() { percpu.NOnline, percpu.Events = oldOnline, oldEvents })
	percpu.NOnline = 2
	for e := range percpu.NEvents {
		percpu.Events[0][e] = 100 * (uint64(e) + 1)
		percpu.Events[1][e] = uint64(e) + 1
	}
	ev := func(e percpu.Event) uint64 { return 101 * (uint64(e) + 1) }
	oldConsole := [2]uint64{consoleIRQs[0].Load(), consoleIRQs[1].Load()}
	t.Cleanup(func() { consoleIRQs[0].Store(oldConsole[0]); consoleIRQs[1].Store(oldConsole[1]) })
	consoleIRQs[0].Store(12)
	consoleIRQs[1].Store(3)
	oldIRQ := [3]uint64{irqFDIRQs[0].Load(), irqFDIRQs[1].Load(), irqFDIRQs[2].Load()}
	t.Cleanup(func() {
		for i, v := range oldIRQ {
			irqFDIRQs[i].Store(v)
		}
	})
	for i, v := range []uint64{40, 2, 11} {
		irqFDIRQs[i].Store(v)
	}
	oldQueued := idleRanQueued.Load()
	t.Cleanup(func() { idleRanQueued.Store(oldQueued) })
	idleRanQueued.Store(7)
	oldLockFree := fileCallsLockFree.Load()
	t.Cleanup(func() { fileCallsLockFree.Store(oldLockFree) })
	fileCallsLockFree.Store(9)
	oldBeside := vfs.ClosesBeside.Load()
	t.Cleanup(func() { vfs.ClosesBeside.Store(oldBeside) })
	vfs.ClosesBeside.Store(5)
	var f kfiles.File
	w := kfiles.Writer{F: &f}
	writeSchedView(w)
	// The fast paths' table and the event table after it, each after a
	// blank line.
	out := string(f.Data[:f.N])
	first := strings.Index(out, "\nfastpath lockfree locked\n")
	require.GreaterOrEqual(t, first, 0, "no fast paths' table:\n%s", out)
	out = out[first:]
	last := strings.Index(out, "\nidle_run_queued ") + 1
	require.Positive(t, last, "no idle_run_queued line:\n%s", out)
	out = out[:last+strings.IndexByte(out[last:], '\n')+1]
	for _, line := range []string{
		fmt.Sprintf("\nsyscall %d\n", ev(percpu.EvSyscall)),
		fmt.Sprintf("\nmemory_call_memlock %d\n", ev(percpu.EvMemCallMem)),
		fmt.Sprintf("\nmemory_call_bothlocks %d\n", ev(percpu.EvMemCallLocked)),
		fmt.Sprintf("\nsignal_lockfree %d\n", ev(percpu.EvSignalFast)),
		fmt.Sprintf("\nfutex_wake %d %d\n", ev(percpu.EvFutexWakeFast), ev(percpu.EvFutexWakeLocked)),
		fmt.Sprintf("\nfutex_wait %d %d\n", ev(percpu.EvFutexWaitFast)+ev(percpu.EvFutexNap)-ev(percpu.EvFutexNapCut)+ev(percpu.EvFutexWaitSwitch)+ev(percpu.EvFutexWaitIdle), ev(percpu.EvFutexWaitLocked)),
		fmt.Sprintf("\nfutex_wait_idle %d 0\n", ev(percpu.EvFutexWaitIdle)),
		fmt.Sprintf("\nnanosleep %d %d\n", ev(percpu.EvNap)-ev(percpu.EvNapCut)-ev(percpu.EvNapCutBlock)+ev(percpu.EvSleepSpin)+ev(percpu.EvSleepSwitch)+ev(percpu.EvSleepIdle), ev(percpu.EvNapLocked)+ev(percpu.EvNapCut)),
		fmt.Sprintf("\nnanosleep_nap_cut %d %d\n", ev(percpu.EvNapCutBlock), ev(percpu.EvNapCut)),
		fmt.Sprintf("\nepoll_wait_block %d %d\n", ev(percpu.EvEpollWaitSwitch)+ev(percpu.EvEpollWaitIdle)+ev(percpu.EvEpollWaitAnswered), ev(percpu.EvEpollWaitLocked)),
		fmt.Sprintf("\nepoll_expired %d 0\n", ev(percpu.EvEpollExpired)),
		fmt.Sprintf("\nkick_interrupt %d %d\n", ev(percpu.EvKickFast), ev(percpu.EvKickLocked)),
		"\nfile_call_lockfree 9\n", "\nfile_close_beside 5\n", "\nconsole_interrupt_fileslock 12\n", "\nconsole_interrupt_locked 3\n",
		"\nirq_interrupt_fileslock 40\n", "\nirq_interrupt_locked 2\n", "\nirq_interrupt_wake 11\n", "\nidle_run_queued 7\n",
	} {
		assert.Contains(t, out, line)
	}
	assert.Equal(t, 2+len(trapStatEvents)+10+1+len(fastStatEvents)+1+len(signalCalls), strings.Count(out, "\n"), "the lines:\n%s", out)
}
