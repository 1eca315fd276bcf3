package kfiles

import (
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
)

// The /proc files that Go's standard library and common libraries (such as
// Prometheus's process collector) read, in Linux's formats, with the
// kernel's numbers: the program is process 1. fillMemFile (memfile.go)
// writes their texts, one case each (one function: each function costs
// the image its own line tables, issue 16's budget); here are the counts
// they print.
// Context (every function here): trap, kernel lock held; none allocates.

// clockTicks is the USER_HZ of times in /proc (AT_CLKTCK).
const clockTicks = 100

// liveThreads counts the program's threads.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func liveThreads() int {
	n := 0
	for i := range threadtab.Threads {
		if threadtab.Sched.Threads[i].State != sched.Free {
			n++
		}
	}
	return n
}

// programCPUNs is the CPU time of every live thread.
// Context: trap, kernel lock held; does not allocate.
func programCPUNs() int64 {
	var ns int64
	for i := range threadtab.Threads {
		if threadtab.Sched.Threads[i].State != sched.Free {
			ns += threadtab.Sched.Threads[i].CPUTime
		}
	}
	return ns
}

// rssBytes approximates the program's resident memory: the frames in use.
// Context: trap, kernel lock held; does not allocate.
func rssBytes() uint64 { return (vm.Frames.Total() - vm.Frames.FreeCount()) * mm.PageSize }
