// Syscost times system calls in loops and prints each one's cost in
// nanoseconds per call, to tell what the kernel's system-call paths cost
// (docs/performance.md). The calls: getpid (answered without the kernel
// lock), getppid (the locked path with the least work behind it),
// sched_yield and a FUTEX_WAKE of a word nobody waits on (lock-free when
// nothing else runs), a FUTEX_WAIT whose word does not match (EAGAIN,
// lock-free since issue 18's futex_wait fast path), a pipe read that finds nothing (EAGAIN), a 64-byte pipe write
// and read, and a ping-pong of one byte between two threads through two
// pipes (each round two wake-ups and two switches), and the first touch
// of a fresh page of anonymous memory (a demand page fault: mmap 1 MiB,
// below the 2 MiB a transparent huge page needs, write a byte per page,
// munmap; the time per page). On gometal each row
// also shows, per call, the kernel's counts from /proc/gometal/sched that
// moved (timer_arm: LAPIC timer writes; timer_interrupt); on Linux those
// columns are empty. Flags: -n iterations per row (default 200000), -rows
// a comma-separated subset.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// futex operations (linux/futex.h).
const (
	futexWait    = 0
	futexWake    = 1
	futexPrivate = 128
)

// row is one timed loop: run does n calls.
type row struct {
	name string
	run  func(n int)
}

func main() {
	n := flag.Int("n", 200000, "iterations per row")
	only := flag.String("rows", "", "comma-separated rows to run (default all)")
	flag.Parse()
	rows := []row{
		{"getpid", getpid},
		{"getppid", getppid},
		{"sched_yield", yield},
		{"futex_wake_nowaiter", futexWakeNobody},
		{"futex_wait_eagain", futexWaitMismatch},
		{"pipe_read_eagain", pipeReadEmpty},
		{"pipe_write_read_64", pipeWriteRead},
		{"pipe_pingpong_2threads", pingPong},
		{"page_fault_first_touch", pageFaults},
	}
	fmt.Printf("%-24s %10s %12s %10s %10s\n", "row", "n", "ns/op", "arms/op", "timerirq/op")
	for _, r := range rows {
		if *only != "" && !strings.Contains(","+*only+",", ","+r.name+",") {
			continue
		}
		iters := *n
		if r.name == "pipe_pingpong_2threads" || r.name == "pipe_write_read_64" || r.name == "page_fault_first_touch" {
			iters = max(iters/10, 1)
		}
		r.run(iters / 10) // warm up: translation, page faults
		before := counts()
		start := time.Now()
		r.run(iters)
		el := time.Since(start)
		after := counts()
		fmt.Printf("%-24s %10d %12.1f %10s %10s\n", r.name, iters, float64(el.Nanoseconds())/float64(iters),
			perOp(before, after, "timer_arm", iters), perOp(before, after, "timer_interrupt", iters))
	}
}

// counts reads the kernel's event counts from /proc/gometal/sched
// (lines "name count"); nil where the file does not exist (Linux).
func counts() map[string]uint64 {
	f, err := os.Open("/proc/gometal/sched")
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[string]uint64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		var k string
		var v uint64
		if n, _ := fmt.Sscanf(s.Text(), "%s %d", &k, &v); n == 2 {
			m[k] = v
		}
	}
	return m
}

// perOp formats the change of count k per iteration, or "-" without it.
func perOp(before, after map[string]uint64, k string, n int) string {
	b, ok1 := before[k]
	a, ok2 := after[k]
	if !ok1 || !ok2 {
		return "-"
	}
	return fmt.Sprintf("%.4f", float64(a-b)/float64(n))
}

func getpid(n int) {
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	}
}

func getppid(n int) {
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0)
	}
}

func yield(n int) {
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

var word uint32

func futexWakeNobody(n int) {
	p := uintptr(unsafe.Pointer(&word))
	for i := 0; i < n; i++ {
		syscall.RawSyscall(syscall.SYS_FUTEX, p, futexWake|futexPrivate, 1)
	}
}

func futexWaitMismatch(n int) {
	p := uintptr(unsafe.Pointer(&word))
	for i := 0; i < n; i++ {
		// The word is 0, the expected value 1: EAGAIN at once.
		if _, _, e := syscall.RawSyscall6(syscall.SYS_FUTEX, p, futexWait|futexPrivate, 1, 0, 0, 0); e != syscall.EAGAIN {
			fail("futex wait", e)
		}
	}
}

// nonblockingPipe returns a pipe whose ends do not block.
func nonblockingPipe() [2]int {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		fail("pipe2", err)
	}
	return p
}

func pipeReadEmpty(n int) {
	p := nonblockingPipe()
	defer closeAll(p[:])
	var b [64]byte
	for i := 0; i < n; i++ {
		if _, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(p[0]), uintptr(unsafe.Pointer(&b[0])), 64); e != syscall.EAGAIN {
			fail("read", e)
		}
	}
}

func pipeWriteRead(n int) {
	p := nonblockingPipe()
	defer closeAll(p[:])
	var b [64]byte
	for i := 0; i < n; i++ {
		if r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p[1]), uintptr(unsafe.Pointer(&b[0])), 64); r != 64 {
			fail("write", e)
		}
		if r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(p[0]), uintptr(unsafe.Pointer(&b[0])), 64); r != 64 {
			fail("read", e)
		}
	}
}

// pingPong passes a byte back and forth n times between this thread and
// another through two blocking pipes: every read waits for the other
// thread's write.
func pingPong(n int) {
	var ab, ba [2]int
	if err := syscall.Pipe2(ab[:], syscall.O_CLOEXEC); err != nil {
		fail("pipe2", err)
	}
	if err := syscall.Pipe2(ba[:], syscall.O_CLOEXEC); err != nil {
		fail("pipe2", err)
	}
	defer closeAll([]int{ab[0], ab[1], ba[0], ba[1]})
	prev := runtime.GOMAXPROCS(2) // each thread keeps a P while it waits
	defer runtime.GOMAXPROCS(prev)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var b [1]byte
		for i := 0; i < n; i++ {
			mustIO(syscall.SYS_READ, ab[0], &b)
			mustIO(syscall.SYS_WRITE, ba[1], &b)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var b [1]byte
	for i := 0; i < n; i++ {
		mustIO(syscall.SYS_WRITE, ab[1], &b)
		mustIO(syscall.SYS_READ, ba[0], &b)
	}
	<-done
}

// mustIO reads or writes one byte on fd through a system call that may block.
func mustIO(nr uintptr, fd int, b *[1]byte) {
	if r, _, e := syscall.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1); r != 1 {
		fail("pingpong", e)
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "syscost: %s: %v\n", what, err)
	os.Exit(1)
}

// pageFaults touches n fresh pages, 256 (1 MiB) per mapping: each first
// write is a demand page fault.
func pageFaults(n int) {
	const chunk, page = 256, 4096
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		b, err := syscall.Mmap(-1, 0, m*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			fmt.Fprintln(os.Stderr, "syscost: mmap:", err)
			os.Exit(1)
		}
		for i := 0; i < m; i++ {
			b[i*page] = 1
		}
		if err := syscall.Munmap(b); err != nil {
			fmt.Fprintln(os.Stderr, "syscost: munmap:", err)
			os.Exit(1)
		}
	}
}
