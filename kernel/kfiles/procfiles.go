package kfiles

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
)

// The /proc files that Go's standard library and common libraries (such as
// Prometheus's process collector) read, in Linux's formats, with the
// kernel's numbers: the program is process 1.
// Context (every function here): trap, kernel lock held; none allocates.

// clockTicks is the USER_HZ of times in /proc (AT_CLKTCK).
const clockTicks = 100

// fillProcFile produces the /proc file which (an index of Paths).
// Context: trap, kernel lock held; does not allocate.
func fillProcFile(which int, w Writer) {
	switch which {
	case fileSelfStat:
		// pid (comm) state ppid ... with utime, stime, num_threads,
		// starttime, vsize and rss filled in.
		ticks := uint64(programCPUNs() / (1e9 / clockTicks))
		w.S("1 (init) R 0 1 1 0 -1 4194560 0 0 0 0 ").U(ticks).S(" 0 0 0 20 0 ").U(uint64(liveThreads()))
		w.S(" 0 ").U(uint64(programStart / (1e9 / clockTicks))).S(" ").U(vm.AreaBytes()).S(" ").U(rssBytes() / mm.PageSize)
		w.S(" 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
	case fileSelfStatus:
		w.S("Name:\tinit\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
		w.S("FDSize:\t").U(fdtab.MaxFDs).S("\nVmRSS:\t").U(rssBytes() >> 10).S(" kB\nThreads:\t").U(uint64(liveThreads())).S("\n")
	case fileSelfCmdline:
		// Linux reads arg_start to arg_end of the program's memory (the
		// part that fits the file here).
		if b, ok := vm.UserBytes(argStart, min(argEnd-argStart, uintptr(len(w.F.Data))), false); ok {
			w.F.N += copy(w.F.Data[:], b)
		}
	case fileSelfLimits:
		w.S("Limit                     Soft Limit           Hard Limit           Units     \n")
		w.S("Max open files            ").U(fdtab.MaxFDs).S("                 ").U(fdtab.MaxFDs).S("                 files     \n")
		w.S("Max address space         unlimited            unlimited            bytes     \n")
	case fileMeminfo:
		total := vm.Frames.Total() * mm.PageSize >> 10
		free := vm.Frames.FreeCount() * mm.PageSize >> 10
		w.S("MemTotal:       ").U(total).S(" kB\nMemFree:        ").U(free).S(" kB\nMemAvailable:   ").U(free).S(" kB\n")
		w.S("Shmem:          ").U(uint64(vfs.Root.PagesHeld) * mm.PageSize >> 10).S(" kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n")
	case fileCPUInfo:
		for i := 0; i < percpu.NOnline; i++ {
			w.S("processor\t: ").U(uint64(i)).S("\nmodel name\t: gometal x86-64 CPU\ncpu cores\t: ").U(uint64(percpu.NOnline)).S("\n\n")
		}
	case fileStat:
		w.S("cpu  ").U(uint64(programCPUNs() / (1e9 / clockTicks))).S(" 0 0 0 0 0 0 0 0 0\nbtime ").U(uint64(clock.WallAtBoot() / 1e9)).S("\nprocesses 1\nprocs_running 1\n")
	case fileUptime:
		up := clock.Nanotime()
		w.U(uint64(up / 1e9)).S(".").U(uint64(up / 1e7 % 100 / 10)).U(uint64(up / 1e7 % 10)).S(" 0.00\n")
	case fileLoadavg:
		w.S("0.00 0.00 0.00 1/").U(uint64(liveThreads())).S(" 1\n")
	case fileHostname:
		w.S("gometal\n")
	case filePipeMaxSize:
		w.U(fs.PipeSize).S("\n")
	}
}

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
