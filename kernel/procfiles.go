package kernel

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

// fillProcFile produces the /proc file which (an index of memFilePaths).
// Context: trap, kernel lock held; does not allocate.
func fillProcFile(which int, w textWriter) {
	switch memFilePaths[which] {
	case "/proc/self/stat":
		writeProcStat(w)
	case "/proc/self/status":
		w.s("Name:\tinit\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
		w.s("FDSize:\t").u(fdtab.MaxFDs).s("\nVmRSS:\t").u(rssBytes() >> 10).s(" kB\nThreads:\t").u(uint64(liveThreads())).s("\n")
	case "/proc/self/cmdline":
		// Linux reads arg_start to arg_end of the program's memory (the
		// part that fits the file here).
		if b, ok := vm.UserBytes(argStart, min(argEnd-argStart, uintptr(len(w.f.data))), false); ok {
			w.f.n += copy(w.f.data[:], b)
		}
	case "/proc/self/limits":
		w.s("Limit                     Soft Limit           Hard Limit           Units     \n")
		w.s("Max open files            ").u(fdtab.MaxFDs).s("                 ").u(fdtab.MaxFDs).s("                 files     \n")
		w.s("Max address space         unlimited            unlimited            bytes     \n")
	case "/proc/meminfo":
		total := vm.Frames.Total() * mm.PageSize >> 10
		free := vm.Frames.FreeCount() * mm.PageSize >> 10
		w.s("MemTotal:       ").u(total).s(" kB\nMemFree:        ").u(free).s(" kB\nMemAvailable:   ").u(free).s(" kB\n")
		w.s("Shmem:          ").u(uint64(vfs.Root.PagesHeld) * mm.PageSize >> 10).s(" kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n")
	case "/proc/cpuinfo":
		for i := 0; i < percpu.NOnline; i++ {
			w.s("processor\t: ").u(uint64(i)).s("\nmodel name\t: gometal x86-64 CPU\ncpu cores\t: ").u(uint64(percpu.NOnline)).s("\n\n")
		}
	case "/proc/stat":
		w.s("cpu  ").u(uint64(programCPUNs() / (1e9 / clockTicks))).s(" 0 0 0 0 0 0 0 0 0\nbtime ").u(uint64(clock.WallAtBoot() / 1e9)).s("\nprocesses 1\nprocs_running 1\n")
	case "/proc/uptime":
		up := clock.Nanotime()
		w.u(uint64(up / 1e9)).s(".").u(uint64(up / 1e7 % 100 / 10)).u(uint64(up / 1e7 % 10)).s(" 0.00\n")
	case "/proc/loadavg":
		w.s("0.00 0.00 0.00 1/").u(uint64(liveThreads())).s(" 1\n")
	case "/proc/sys/kernel/hostname":
		w.s("gometal\n")
	case "/proc/sys/fs/pipe-max-size":
		w.u(fs.PipeSize).s("\n")
	}
}

// writeProcStat writes /proc/self/stat: pid (comm) state ppid ... with
// utime, stime, num_threads, starttime, vsize and rss filled in.
// Context: trap, kernel lock held; does not allocate.
func writeProcStat(w textWriter) {
	ticks := uint64(programCPUNs() / (1e9 / clockTicks))
	w.s("1 (init) R 0 1 1 0 -1 4194560 0 0 0 0 ").u(ticks).s(" 0 0 0 20 0 ").u(uint64(liveThreads()))
	w.s(" 0 ").u(uint64(programStart / (1e9 / clockTicks))).s(" ").u(vsizeBytes()).s(" ").u(rssBytes() / mm.PageSize)
	w.s(" 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
}

// liveThreads counts the program's threads.
// Context: trap, kernel lock held; does not allocate.
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

// vsizeBytes is the size of the program's address space.
// Context: trap, kernel lock held; does not allocate.
func vsizeBytes() uint64 {
	var n uint64
	for i := 0; i < vm.VMAs.Len(); i++ {
		v := vm.VMAs.At(i)
		n += uint64(v.End - v.Start)
	}
	return n
}

// rssBytes approximates the program's resident memory: the frames in use.
// Context: trap, kernel lock held; does not allocate.
func rssBytes() uint64 { return (vm.Frames.Total() - vm.Frames.FreeCount()) * mm.PageSize }
