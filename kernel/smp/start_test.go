package smp

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gometal/gometal/kernel/percpu"
)

// take is what apEntry64 (kernel/start_amd64.s) does with the Launch
// record, in Go: draw a ticket with a locked add and keep it only if it
// is below Slots. It returns the slot's index in percpu.CPUs.
func take(l *Launch) (int, bool) {
	t := l.Next.Add(1) - 1
	if t >= l.Slots {
		return 0, false
	}
	return int(l.First + t), true
}

func TestPlan(t *testing.T) {
	dst := make([]uint32, 3)
	n, over := plan(dst, []uint32{0, 1, 2, 3}, 0)
	assert.Equal(t, 3, n)
	assert.False(t, over)
	assert.Equal(t, []uint32{1, 2, 3}, dst[:n], "the boot CPU is left out, the order kept")

	n, over = plan(dst, []uint32{4, 2, 6}, 2)
	assert.Equal(t, []uint32{4, 6}, dst[:n], "the boot CPU need not come first")
	assert.False(t, over)

	n, over = plan(dst, []uint32{0, 1, 2, 3, 4}, 0)
	assert.Equal(t, []uint32{1, 2, 3}, dst[:n], "only as many as there are slots")
	assert.True(t, over, "and the rest are reported")

	n, over = plan(dst[:0], []uint32{0, 1}, 0)
	assert.Zero(t, n)
	assert.True(t, over, "no slot left: MaxCPUs CPUs are up already")

	n, over = plan(dst, []uint32{0}, 0)
	assert.Zero(t, n)
	assert.False(t, over, "one CPU: nothing to start")
}

func TestArrived(t *testing.T) {
	slots := make([]percpu.CPU, 3)
	slots[0].APICID = 5
	slots[0].Online.Store(true)
	slots[1].APICID = 7 // not online yet: not arrived
	assert.True(t, arrived(slots, 5))
	assert.False(t, arrived(slots, 7))
	assert.False(t, arrived(slots, 0), "an empty slot is nobody's, APIC id 0 included")
	assert.False(t, arrived(slots[1:], 5))
}

// TestLaunchTickets: tickets give slots First, First+1, ... in the order
// drawn; past Slots they give none.
func TestLaunchTickets(t *testing.T) {
	l := &Launch{Slots: 2, First: 1}
	for _, want := range []int{1, 2} {
		slot, ok := take(l)
		require.True(t, ok)
		assert.Equal(t, want, slot)
	}
	_, ok := take(l)
	assert.False(t, ok, "a third CPU for two slots parks")
	assert.Equal(t, 2, l.Close(), "Close counts the slots, not the tickets")
}

// TestLaunchClose: a CPU that draws after Close gets no slot, even one
// nobody took, and Close counts exactly the slots taken before it.
func TestLaunchClose(t *testing.T) {
	l := &Launch{Slots: 3, First: 1}
	slot, ok := take(l)
	require.True(t, ok)
	assert.Equal(t, 1, slot)
	assert.Equal(t, 1, l.Close())
	for range 5 {
		_, ok := take(l)
		assert.False(t, ok, "the handout is closed")
	}
}

// TestLaunchCloseRace races CPUs drawing tickets with the boot CPU's
// Close, many times: the slots taken are always exactly First to
// First+Close()-1, each once (no hole, no slot twice), whoever loses.
func TestLaunchCloseRace(t *testing.T) {
	for round := range 2000 {
		const cpus, slots = 8, 6
		l := &Launch{Slots: slots, First: 1}
		var wg sync.WaitGroup
		got := make([]int, cpus)
		start := make(chan struct{})
		for i := range cpus {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if s, ok := take(l); ok {
					got[i] = s
				}
			}()
		}
		close(start)
		taken := l.Close()
		wg.Wait()
		seen := map[int]int{}
		for _, s := range got {
			if s != 0 {
				seen[s]++
			}
		}
		require.Len(t, seen, taken, "round %d: slots taken %v, Close said %d", round, got, taken)
		for s := 1; s <= taken; s++ {
			require.Equal(t, 1, seen[s], "round %d: slot %d in %v", round, s, got)
		}
	}
}

func TestAPFaultOption(t *testing.T) {
	assert.Equal(t, apFault{apic: 1, valid: true}, apFaultOption("1", true))
	assert.Equal(t, apFault{apic: 12, late: true, valid: true}, apFaultOption("12:late", true))
	for _, bad := range []string{"", ":late", "x", "1:early", "-1"} {
		assert.False(t, apFaultOption(bad, true).valid, "%q", bad)
	}
	assert.False(t, apFaultOption("1", false).valid, "not given")

	f := apFaultOption("2", true)
	assert.True(t, f.parks(2))
	assert.False(t, f.skips(2))
	assert.False(t, f.parks(1))
	late := apFaultOption("2:late", true)
	assert.True(t, late.skips(2))
	assert.False(t, late.parks(2))
	assert.False(t, late.skips(3))
	assert.False(t, apFault{}.parks(0), "no option: APIC id 0 is not faulty")
}
