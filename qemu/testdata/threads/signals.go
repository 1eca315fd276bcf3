package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// signalsCheck sends SIGUSR1 with tgkill, one signal at a time, to a
// locked thread that cycles through computing, a FUTEX_WAIT with a
// 200 us timeout (a blocking wait, which a signal ends with EINTR), a
// 30 us nanosleep (a nap) and a sched_yield, so that the signals find it
// running, runnable, napping and blocked; then the sender sends n/10 to
// itself. Each must reach the program's os/signal channel within 5 s
// (a lost signal ends the program with status 1). It prints the
// kernel's view (/proc/gometal/sched) between marker lines, for the host
// to check the lock-free signal calls' counts.
func signalsCheck() {
	const n = 400
	got := make(chan os.Signal, 1)
	signal.Notify(got, unix.SIGUSR1)
	tids := make(chan int, 1)
	stop := make(chan struct{})
	go signalTarget(tids, stop)
	target := <-tids
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self := unix.Gettid()
	for i := range n + n/10 {
		to := target
		if i >= n {
			to = self
		}
		if err := unix.Tgkill(1, to, unix.SIGUSR1); err != nil {
			fmt.Printf("threads signals: tgkill %d: %v\n", i, err)
			os.Exit(1)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			fmt.Printf("threads signals: signal %d (to thread %d) never arrived\n", i, to)
			os.Exit(1)
		}
	}
	close(stop)
	fmt.Printf("threads signals: ok n=%d self=%d\nthreads signals: sched\n%sthreads signals: end\n", n, n/10, sched())
}

// signalTarget is signalsCheck's target thread: it sends its TID on
// tids, then cycles through a computation, a timed FUTEX_WAIT, a short
// nanosleep and a sched_yield until stop closes.
func signalTarget(tids chan<- int, stop <-chan struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tids <- unix.Gettid()
	var word uint32
	wait := unix.NsecToTimespec(200_000)
	nap := unix.NsecToTimespec(30_000)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		switch i % 4 {
		case 0:
			spinFor(20 * time.Microsecond)
		case 1: // ETIMEDOUT, or EINTR
			unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWaitPrivate, 0, uintptr(unsafe.Pointer(&wait)), 0, 0)
		case 2:
			unix.Nanosleep(&nap, nil)
		case 3:
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
}
