package tlb

import (
	"testing"

	"github.com/gometal/gometal/kernel/percpu"
	"github.com/stretchr/testify/assert"
)

// TestWaitAction: the shooter waits a second for an answer, then sends
// the NMI probe; a CPU that takes the probe must answer within the grace
// (it runs with interrupts off otherwise: a kernel panic), and one that
// takes neither is waited for up to the starvation limit (an overloaded
// host can leave a vCPU unscheduled for seconds; it answers when it
// runs), then named in a kernel panic.
func TestWaitAction(t *testing.T) {
	const ms = int64(1e6)
	cases := []struct {
		name    string
		waited  int64
		probe   uint32
		takenAt int64
		want    waitVerdict
	}{
		{"answer pending", 500 * ms, percpu.ProbeNone, 0, keepWaiting},
		{"a second: probe", 1001 * ms, percpu.ProbeNone, 0, sendProbe},
		{"probe in flight", 1500 * ms, percpu.ProbeSent, 0, keepWaiting},
		{"probe in flight, starved long", 29 * 1000 * ms, percpu.ProbeSent, 0, keepWaiting},
		{"taken, within the grace", 1150 * ms, percpu.ProbeTaken, 1000 * ms, keepWaiting},
		{"taken, grace over: interrupts off", 1250 * ms, percpu.ProbeTaken, 1000 * ms, panicInterruptsOff},
		{"taken late after starving, grace running", 20 * 1000 * ms, percpu.ProbeTaken, 19950 * ms, keepWaiting},
		{"taken but not seen by the shooter yet", 5 * 1000 * ms, percpu.ProbeTaken, 0, keepWaiting},
		{"neither taken: does not run", 30*1000*ms + 1, percpu.ProbeSent, 0, panicNotRunning},
		{"never probed (send failed silently), starved", 30*1000*ms + 1, percpu.ProbeNone, 0, panicNotRunning},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, waitAction(c.waited, c.probe, c.takenAt), c.name)
	}
}

// TestTakeNMIProbe: only a probe that was sent is taken, once; any other
// NMI is not the shooter's.
func TestTakeNMIProbe(t *testing.T) {
	var c percpu.CPU
	assert.False(t, percpu.TakeNMIProbe(&c), "no probe sent: an ordinary NMI")
	c.NMIProbe.Store(percpu.ProbeSent)
	assert.True(t, percpu.TakeNMIProbe(&c))
	assert.Equal(t, uint32(percpu.ProbeTaken), c.NMIProbe.Load())
	assert.False(t, percpu.TakeNMIProbe(&c), "a second NMI is not the probe")
}
