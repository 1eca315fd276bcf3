package kernel

import (
	"testing"

	"github.com/gometal/gometal/sched"
)

// TestPlaceThread checks where sysClone queues a new thread: on an idle
// CPU if any, else on the least loaded. Every new thread used to start on
// CPU 0's queue, whatever the load.
func TestPlaceThread(t *testing.T) {
	savedN := onlineCPUs
	t.Cleanup(func() { cpus, onlineCPUs = [MaxCPUs]percpu{}, savedN }) // as a host test starts
	setup := func(running []bool, queued []int, idle int) {
		cpus = [MaxCPUs]percpu{}
		onlineCPUs = len(running)
		for i := range running {
			cpus[i].cur = noThread
			if running[i] {
				cpus[i].cur = sched.TID(i)
			}
			for k := range queued[i] {
				cpus[i].runq.Push(sched.TID(10 + 10*i + k))
			}
		}
		if idle >= 0 {
			cpus[idle].idle.Store(true)
		}
	}
	for _, c := range []struct {
		name    string
		running []bool
		queued  []int
		idle    int
		parent  int
		want    int
	}{
		{"idle CPU", []bool{true, true, false, true}, []int{0, 0, 0, 0}, 2, 1, 2},
		{"idle CPU 0 from CPU 3", []bool{false, true, true, true}, []int{0, 1, 0, 0}, 0, 3, 0},
		{"least loaded", []bool{true, true, true, true}, []int{2, 0, 1, 1}, -1, 0, 1},
		{"parent wins ties", []bool{true, true, true, true}, []int{1, 1, 0, 0}, -1, 2, 2},
		{"one CPU", []bool{true}, []int{3}, -1, 0, 0},
	} {
		setup(c.running, c.queued, c.idle)
		if got := placeThread(c.parent); got != c.want {
			t.Errorf("%s: placeThread(%d) = %d, want %d", c.name, c.parent, got, c.want)
		}
	}
}
