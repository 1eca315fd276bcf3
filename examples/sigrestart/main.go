// Command sigrestart shows how blocking system calls end when a caught
// signal interrupts them, which must match Linux (signal(7)): the Go
// runtime installs its handlers with SA_RESTART, so a blocking read of a
// pipe and a futex wait without a timeout go on as if nothing happened,
// while nanosleep (reporting the time it had left) and epoll_wait return
// EINTR. Then writes to a pipe with no reader fail with EPIPE and raise
// SIGPIPE. Each call runs on the
// main thread while another goroutine sends it SIGUSR1. Last, what
// rt_sigaction reports and does (sigaction(2)): the runtime's handler
// comes back with its flags and its mask less SIGKILL and SIGSTOP, and
// making a pending signal ignored discards it.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations (linux/futex.h): golang.org/x/sys/unix has no names
// for them.
const (
	futexWait        = 0
	futexWake        = 1
	futexPrivateFlag = 128
)

// settle is how long the sender waits for the main thread to block.
const settle = 100 * time.Millisecond

var caught = make(chan os.Signal, 16)

func main() {
	runtime.LockOSThread()
	signal.Notify(caught, syscall.SIGUSR1)
	tid := unix.Gettid()
	read(tid)
	sleep(tid)
	epollWait(tid)
	waitOnFutex(tid)
	brokenPipes()
	actions(tid)
}

// interrupt sends SIGUSR1 to thread tid n times, settle apart, then
// calls after.
func interrupt(tid, n int, after func()) {
	go func() {
		for range n {
			time.Sleep(settle)
			if err := unix.Tgkill(os.Getpid(), tid, unix.SIGUSR1); err != nil {
				fmt.Println("tgkill:", err)
				os.Exit(1)
			}
		}
		time.Sleep(settle)
		after()
	}()
}

// sawSignal reports whether SIGUSR1 reached the program.
func sawSignal() bool { return sawOn(caught) }

// sawOn reports whether a signal arrives on c within 5 s, and empties c.
func sawOn(c chan os.Signal) bool {
	select {
	case <-c:
		for len(c) > 0 {
			<-c
		}
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func read(tid int) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		fmt.Println("pipe2:", err)
		os.Exit(1)
	}
	interrupt(tid, 3, func() { syscall.Write(p[1], []byte("data")) })
	b := make([]byte, 16)
	n, err := syscall.Read(p[0], b)
	fmt.Printf("read of a pipe: %q, error %v; signal caught: %v\n", b[:max(n, 0)], err, sawSignal())
}

func sleep(tid int) {
	interrupt(tid, 1, func() {})
	ts := syscall.NsecToTimespec(int64(10 * time.Second))
	var rem syscall.Timespec
	err := syscall.Nanosleep(&ts, &rem)
	left := time.Duration(rem.Nano())
	fmt.Printf("nanosleep: error %v; signal caught: %v; time left reported: %v\n", err, sawSignal(), left > 0 && left < 10*time.Second)
}

func epollWait(tid int) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		fmt.Println("epoll_create1:", err)
		os.Exit(1)
	}
	interrupt(tid, 1, func() {})
	var ev [1]unix.EpollEvent
	_, err = unix.EpollWait(ep, ev[:], -1)
	fmt.Printf("epoll_wait: error %v; signal caught: %v\n", err, sawSignal())
}

func waitOnFutex(tid int) {
	var word atomic.Uint32
	addr := uintptr(unsafe.Pointer(&word))
	interrupt(tid, 2, func() {
		word.Store(1)
		unix.Syscall6(unix.SYS_FUTEX, addr, futexWake|futexPrivateFlag, 1, 0, 0, 0)
	})
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, futexWait|futexPrivateFlag, 0, 0, 0, 0)
	// 0 when woken, EAGAIN when the word changed before a restarted wait
	// looked at it: either way the wait was not interrupted.
	fmt.Printf("futex wait interrupted: %v; signal caught: %v\n", errors.Is(e, syscall.EINTR), sawSignal())
}

// brokenPipes writes to a pipe whose read end is closed, blocking and
// non-blocking (os.Pipe's): each write fails with EPIPE and raises
// SIGPIPE, which os/signal delivers here (the runtime would ignore it
// for a descriptor other than 1 and 2 had the program not asked).
func brokenPipes() {
	pipes := make(chan os.Signal, 4)
	signal.Notify(pipes, syscall.SIGPIPE)
	defer signal.Stop(pipes)
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		fmt.Println("pipe2:", err)
		os.Exit(1)
	}
	syscall.Close(p[0])
	_, err := syscall.Write(p[1], []byte("x"))
	fmt.Printf("write to a pipe with no reader: error %v; SIGPIPE: %v\n", err, sawOn(pipes))
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println("os.Pipe:", err)
		os.Exit(1)
	}
	r.Close()
	_, err = w.Write([]byte("x"))
	fmt.Printf("os.Pipe write with no reader: error %v; SIGPIPE: %v\n", errors.Is(err, syscall.EPIPE), sawOn(pipes))
}

// sigaction is the kernel's struct sigaction on amd64.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

// rtSigaction calls rt_sigaction(2) for sig, act and old may be nil.
func rtSigaction(sig syscall.Signal, act, old *sigaction) {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		fmt.Println("rt_sigaction:", e)
		os.Exit(1)
	}
}

// sigprocmask calls rt_sigprocmask(2) for this thread.
func sigprocmask(how int, set, old *uint64) {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, uintptr(how), uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		fmt.Println("rt_sigprocmask:", e)
		os.Exit(1)
	}
}

// actions reads back the action os/signal installed for SIGUSR2 (the
// runtime asks for every signal blocked in its handler, an all-ones
// mask, of which Linux keeps all but SIGKILL and SIGSTOP), then sends
// SIGUSR2 to this thread while it blocks it, sets SIG_IGN and the
// runtime's action back, and unblocks it: Linux discarded the pending
// signal when SIG_IGN was set, so nothing arrives.
func actions(tid int) {
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	defer signal.Stop(usr2)
	var old sigaction
	rtSigaction(syscall.SIGUSR2, nil, &old)
	fmt.Printf("SIGUSR2's action: flags %#x, mask %#x\n", old.flags, old.mask)
	block, saved := uint64(1)<<(syscall.SIGUSR2-1), uint64(0)
	sigprocmask(unix.SIG_BLOCK, &block, &saved)
	if err := unix.Tgkill(os.Getpid(), tid, unix.SIGUSR2); err != nil {
		fmt.Println("tgkill:", err)
		os.Exit(1)
	}
	rtSigaction(syscall.SIGUSR2, &sigaction{handler: 1}, nil) // SIG_IGN
	rtSigaction(syscall.SIGUSR2, &old, nil)
	sigprocmask(unix.SIG_SETMASK, &saved, nil)
	select {
	case <-usr2:
		fmt.Println("SIGUSR2 pending while SIG_IGN was set: delivered later")
	case <-time.After(time.Second):
		fmt.Println("SIGUSR2 pending while SIG_IGN was set: discarded")
	}
}
