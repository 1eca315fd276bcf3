// Command threads exercises the kernel's thread life cycle for the
// scheduler bug tests (qemu/threads_test.go). Its first argument picks the
// check:
//
//   - exit: locked goroutines that return make the runtime end their
//     threads with exit(2); afterwards the scheduler's running count in
//     /proc/gometal/sched must equal the threads it lists as running.
//   - cputime: threads that burn CPU and exit; CLOCK_PROCESS_CPUTIME_ID
//     must never go backwards.
//   - spread: new threads must run on several CPUs.
//   - munmap: map, touch and unmap memory for 3 s while other threads
//     compute.
//   - spin: compute for 2 s, then sleep for 2 s (the NMI test interrupts
//     both).
//   - locks: two locked threads make system calls that take the kernel
//     lock while goroutines hand work over mutexes and channels; then
//     the program makes FUTEX_WAKEs that wake nobody and sched_yields,
//     and /proc/gometal/sched is printed for the host to check its lock
//     statistics and fast-path counts. Last, short nanosleeps (the
//     kernel's delay loop and naps), some of them cut short by signals:
//     each must last at least its length or end in EINTR, and the
//     napping thread's CPU time must stay well below the time it took.
//   - ticks: two locked threads compute for 400 ms without a system
//     call; the deltas of their CPUs' timer interrupts (lock-free and
//     locked), of the kernel and slices locks' acquisitions, of the
//     slice preemptions and of the signals delivered without the kernel
//     lock are printed for the host to check.
//   - hang: open a FIFO that no one ever writes to, which waits forever
//     (the stall-report test stops it at its time limit).
package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: threads exit|cputime|spread|munmap|spin|locks|signals|switch|moves|ticks|preempt|hang")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "exit":
		exitCheck()
	case "cputime":
		cputimeCheck()
	case "spread":
		spreadCheck()
	case "munmap":
		munmapCheck()
	case "spin":
		fmt.Println("threads spin: start")
		n := 0
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			n++
		}
		time.Sleep(2 * time.Second)
		fmt.Println("threads spin: ok")
	case "locks":
		locksCheck()
	case "signals":
		signalsCheck() // signals.go
	case "switch":
		switchCheck()
	case "moves":
		movesCheck()
	case "ticks":
		ticksCheck()
	case "preempt":
		preemptCheck()
	case "hang":
		fmt.Println("threads hang: start")
		hangForever()
		fmt.Println("threads hang: the FIFO opened")
	default:
		fmt.Println("unknown check", os.Args[1])
		os.Exit(2)
	}
}

// endThreads runs n goroutines that lock their thread, run f and return
// still locked: the runtime then exits each thread.
func endThreads(n int, f func()) {
	onLockedThreads(n, false, f).Wait()
	time.Sleep(50 * time.Millisecond) // let the threads reach exit(2)
}

// onLockedThreads runs f in n goroutines, each locked to its own thread
// (unlocked again after f if unlock, else the runtime exits the thread),
// and returns the group that is done when they all are.
func onLockedThreads(n int, unlock bool, f func()) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			f()
			if unlock {
				runtime.UnlockOSThread()
			}
		}()
	}
	return &wg
}

func sched() string {
	b, err := os.ReadFile("/proc/gometal/sched")
	if err != nil {
		fmt.Println("read sched:", err)
		os.Exit(1)
	}
	return string(b)
}

func exitCheck() {
	for round := range 4 {
		endThreads(4, func() {})
		s := sched()
		running := len(regexp.MustCompile(`(?m)^\d+ running \d+ \d+$`).FindAllString(s, -1))
		m := regexp.MustCompile(`(?m)^nrunning (\d+)$`).FindStringSubmatch(s)
		if m == nil {
			fmt.Printf("no nrunning line:\n%s", s)
			os.Exit(1)
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		if n != uint64(running) {
			fmt.Printf("round %d: nrunning %d, %d threads running:\n%s", round, n, running, s)
			os.Exit(1)
		}
	}
	fmt.Println("threads exit: ok")
}

func processCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		fmt.Println("clock_gettime:", err)
		os.Exit(1)
	}
	return time.Duration(ts.Nano())
}

func cputimeCheck() {
	last := processCPU()
	for round := range 6 {
		endThreads(3, func() {
			for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
			}
		})
		now := processCPU()
		if now < last {
			fmt.Printf("round %d: process CPU time went back from %v to %v\n", round, last, now)
			os.Exit(1)
		}
		last = now
	}
	fmt.Println("threads cputime: ok")
}

func spreadCheck() {
	var seen sync.Map
	endThreads(8, func() {
		for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
			for _, line := range strings.Split(sched(), "\n") {
				f := strings.Fields(line)
				if len(f) == 4 && f[1] == "running" && f[0] == strconv.Itoa(syscall.Gettid()) {
					seen.Store(f[2], true)
				}
			}
		}
	})
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	fmt.Printf("threads spread: ran on %d CPUs\n", n)
}

func munmapCheck() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
	// For 3 s: long enough for the threads to move between the CPUs, so
	// that each CPU is at some point running a spinner in ring 3 while
	// another unmaps (tlbfault= needs its CPU to be a shootdown target).
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		b, err := unix.Mmap(-1, 0, 1<<16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		if err != nil {
			fmt.Println("mmap:", err)
			os.Exit(1)
		}
		b[0], b[len(b)-1] = 1, 2
		if err := unix.Munmap(b); err != nil {
			fmt.Println("munmap:", err)
			os.Exit(1)
		}
	}
	close(stop)
	wg.Wait()
	fmt.Println("threads munmap: ok")
}

// hangForever opens a FIFO for reading with no writer: the open waits
// for one, for good.
func hangForever() {
	if err := unix.Mkfifo("/tmp/hang", 0o600); err != nil {
		fmt.Println("mkfifo:", err)
		return
	}
	f, err := os.Open("/tmp/hang")
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	f.Close()
}

// locksCheck keeps both CPUs in and out of the kernel for a while, then
// prints /proc/gometal/sched between marker lines.
func locksCheck() {
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			for range 20000 {
				unix.Getppid() // not a lock-free call: it takes the kernel lock
			}
		}()
	}
	var mu sync.Mutex
	ch := make(chan int)
	shared := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				mu.Lock()
				shared += i
				mu.Unlock()
				if g%2 == 0 {
					ch <- i
				} else {
					<-ch
				}
			}
		}()
	}
	wg.Wait()
	for _, check := range []func() error{fastCalls, shortSleeps, epollWaits, timedFutexWaits} {
		if err := check(); err != nil {
			fmt.Println("threads locks:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("threads locks: sched\n%sthreads locks: end (%d)\n", sched(), shared)
}

// futexWakePrivate is FUTEX_WAKE | FUTEX_PRIVATE_FLAG (linux/futex.h),
// as the Go runtime calls it.
const futexWakePrivate = 1 | 128

// fastCalls makes the calls the kernel answers without its lock when it
// can: 1,024 FUTEX_WAKEs of words nobody waits on (32 words, spread over
// the kernel's hash buckets), 1,000 sched_yields from a locked thread
// and 1,000 FUTEX_WAITs of a word that holds another value. Each wake
// must wake nobody, each wait return EAGAIN.
func fastCalls() error {
	var words [32]uint32
	for range 32 {
		for i := range words {
			r, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&words[i])),
				futexWakePrivate, 1, 0, 0, 0)
			if e != 0 || r != 0 {
				return fmt.Errorf("FUTEX_WAKE of an unwaited word: %d, %v", r, e)
			}
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range 1000 {
		if _, _, e := unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0); e != 0 {
			return fmt.Errorf("sched_yield: %v", e)
		}
	}
	word := uint32(7)
	for i := range 1000 {
		_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)),
			futexWaitPrivate, uintptr(8+i), 0, 0, 0)
		if e != unix.EAGAIN {
			return fmt.Errorf("FUTEX_WAIT of a word that differs: %v, want EAGAIN", e)
		}
	}
	if err := takeTurns(); err != nil {
		return err
	}
	if err := napWaits(napGoal, napLimit); err != nil {
		return err
	}
	return timedWaits(timedGoal, timedLimit)
}

// The goals and limits of napWaits and timedWaits. How many waits nap,
// and how many naps a wake ends, depends on the host's load (a wake
// ended a nap in 1 to 3 waits in 10 with six boots at once on two
// cores, against 6 or 7 in 10 on an idle host). So each stage runs
// bursts until the program's counts reach its goal, up to its limit, and
// prints how many waits it made; a kernel that never naps, or whose
// wakes or timeouts never end a nap, reaches the limit and the host test
// fails.
const (
	napGoal    = 50   // naps and wakes of nappers napWaits waits for
	napLimit   = 1000 // napWaits' most waits: a nap in 20 at the least
	timedGoal  = 25   // naps ended by their timeout timedWaits waits for
	timedLimit = 500  // timedWaits' most waits (it makes 50 at least)
)

// switchCheck runs two locked threads that take switchTurns turns each
// on one futex word, each waking the other with a FUTEX_WAKE of one and
// then waiting in a FUTEX_WAIT without a timeout (turns), and prints how
// many FUTEX_WAITs switched to a queued thread and how many FUTEX_WAKEs
// queued their waiter on their own CPU, both under the CPU's run-queue
// lock (kernel/fastswitch.go), how many of those wakes moved their
// waiter from another CPU, and how many futex calls took the kernel lock,
// over the turns. On one CPU every hand-off is one of each: the waker
// queues its partner there (the CPU is busy, no other is idle), and its
// wait then finds that partner queued. On more, a locked thread computes
// on each CPU but one meanwhile, so that no CPU is idle: a waker whose
// partner last ran on a computing CPU moves it to its own, where its
// wait then switches to it.
func switchCheck() {
	spinners := runtime.NumCPU() - 1
	// A P for each side and each spinner: with too few, a side woken
	// from its FUTEX_WAIT would wait for sysmon to take the P from
	// another, in its system call.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2 + spinners))
	stopComputing := computeOn(spinners)
	switches, wakes, moved, locked := fastPathCount("futex_wait_switch"), eventCount("futex_wake_here"), eventCount("futex_wake_moved"), lockedFutexCalls()
	err := bothTurns(switchTurns, "nap")
	switches, wakes, moved, locked = fastPathCount("futex_wait_switch")-switches, eventCount("futex_wake_here")-wakes,
		eventCount("futex_wake_moved")-moved, lockedFutexCalls()-locked
	stopComputing()
	if err != nil {
		fmt.Println("threads switch:", err)
		os.Exit(1)
	}
	fmt.Printf("threads switch: turns=%d switches=%d wakes_here=%d moved=%d locked_futex=%d\n", 2*switchTurns,
		switches, wakes, moved, locked)
	fmt.Printf("threads switch: sched\n%sthreads switch: end\n", sched())
}

// movesCheck bounces a token between two goroutines, each locked to its
// own thread, over unbuffered channels at GOMAXPROCS 2 (the bench's
// sched.pingpong.cross): every hand-off wakes the other thread with a
// FUTEX_WAKE and puts the waker to sleep in a FUTEX_WAIT. It makes round
// trips in batches of moveBatch until moveGoal FUTEX_WAKEs have moved
// their waiter from another CPU, or moveLimit trips: how often a wake
// finds the other CPU busy, the condition for a move, depends on the
// host (about 1 in 100 trips with twelve boots at once on two cores, 20
// on an idle host). It checks every token and prints the trips it made, how many
// FUTEX_WAKEs queued their waiter on their own CPU under its run-queue
// lock, how many of those moved it, and how many futex calls took the
// kernel lock, over the trips.
func movesCheck() {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	wakes, moved0, locked := eventCount("futex_wake_here"), eventCount("futex_wake_moved"), lockedFutexCalls()
	ping, pong := make(chan int), make(chan int)
	go func() {
		runtime.LockOSThread()
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	runtime.LockOSThread()
	trips := 0
	for trips < moveLimit && eventCount("futex_wake_moved")-moved0 < moveGoal {
		for range moveBatch {
			ping <- trips
			if v := <-pong; v != trips+1 {
				fmt.Printf("threads moves: trip %d came back as %d\n", trips, v)
				os.Exit(1)
			}
			trips++
		}
	}
	close(ping)
	<-pong
	runtime.UnlockOSThread()
	fmt.Printf("threads moves: trips=%d wakes_here=%d moved=%d locked_futex=%d\n", trips,
		eventCount("futex_wake_here")-wakes, eventCount("futex_wake_moved")-moved0, lockedFutexCalls()-locked)
}

// ticksCheck runs two locked threads that compute for ticksFor on the
// boot's 2 CPUs, so that nearly every kernel entry is a timer interrupt
// for the goroutine time-slice check, and prints what changed in
// /proc/gometal/sched meanwhile: the timer interrupts taken without the
// kernel lock and with it (kernel/fasttimer.go), the kernel lock's and
// the slices lock's acquisitions, and the slice preemptions requested
// and taken, summed over the CPUs.
func ticksCheck() {
	before := schedNumbers(sched())
	stop := computeOn(2)
	time.Sleep(ticksFor)
	stop()
	after := schedNumbers(sched())
	fmt.Printf("threads ticks: lockfree=%d locked=%d kernel=%d slices=%d requested=%d taken=%d signals=%d\n",
		after[0]-before[0], after[1]-before[1], after[2]-before[2], after[3]-before[3], after[4]-before[4], after[5]-before[5], after[6]-before[6])
}

// preemptCheck runs twice as many computing threads as there are CPUs
// (GOMAXPROCS raised to match, each goroutine on a locked thread) for
// ticksFor without a system call, so that every slice's end finds a
// thread queued behind the running one: the kernel must switch them at
// its timer interrupts. It prints how many of those switches were made
// under the run-queue lock alone (the event preempt_switch_lockfree),
// the timer interrupts taken with and without the kernel lock, and each
// thread's count of loops: every thread must have had its turns.
func preemptCheck() {
	n := 2 * runtime.NumCPU()
	runtime.GOMAXPROCS(n)
	count := func() int64 { return max(schedCount(`(?m)^preempt_switch_lockfree (\d+)$`), 0) }
	before, ticksBefore := count(), schedNumbers(sched())
	var done atomic.Bool
	loops := make([]atomic.Int64, n)
	var running sync.WaitGroup
	for i := range n {
		running.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !done.Load() {
				loops[i].Add(1)
			}
		})
	}
	time.Sleep(ticksFor)
	done.Store(true)
	running.Wait()
	after, ticksAfter := count(), schedNumbers(sched())
	fmt.Printf("threads preempt: switches=%d lockfree=%d locked=%d loops=", after-before, ticksAfter[0]-ticksBefore[0], ticksAfter[1]-ticksBefore[1])
	for i := range loops {
		if i > 0 {
			fmt.Print(",")
		}
		fmt.Print(loops[i].Load())
	}
	fmt.Println()
}

// ticksFor is how long ticksCheck's threads compute.
const ticksFor = 400 * time.Millisecond

// schedNumbers reads, from one /proc/gometal/sched text, the timer
// interrupts' fast-path line (lock-free, locked), the kernel and slices
// locks' acquisitions, the slice preemptions requested and taken,
// summed over the CPU table's rows ("cpu busy_ms idle_ms interrupts
// spurious halts runq slices_requested slices_taken thread"), and the
// signals delivered without the kernel lock (the event signal_lockfree).
func schedNumbers(text string) (v [7]int64) {
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	if m := regexp.MustCompile(`(?m)^timer_interrupt (\d+) (\d+)$`).FindStringSubmatch(text); m != nil {
		v[0], v[1] = num(m[1]), num(m[2])
	}
	if m := regexp.MustCompile(`(?m)^kernel (\d+) `).FindStringSubmatch(text); m != nil {
		v[2] = num(m[1])
	}
	if m := regexp.MustCompile(`(?m)^slices (\d+) `).FindStringSubmatch(text); m != nil {
		v[3] = num(m[1])
	}
	for _, m := range regexp.MustCompile(`(?m)^\d+ \d+ \d+ \d+ \d+ \d+ \d+ (\d+) (\d+) (?:\d+|-)$`).FindAllStringSubmatch(text, -1) {
		v[4] += num(m[1])
		v[5] += num(m[2])
	}
	if m := regexp.MustCompile(`(?m)^signal_lockfree (\d+)$`).FindStringSubmatch(text); m != nil {
		v[6] = num(m[1])
	}
	return v
}

// movesCheck's goal, limit and batch of round trips.
const (
	moveGoal  = 100
	moveLimit = 20_000
	moveBatch = 200
)

// switchTurns is how many turns each side of switchCheck takes.
const switchTurns = 1000

// lockedFutexCalls returns how many futex calls took the kernel lock
// (/proc/gometal/sched's "locked_syscall futex" line, absent for none).
func lockedFutexCalls() int64 { return max(schedCount(`(?m)^locked_syscall futex (\d+)$`), 0) }

// takeTurns runs two locked threads that take 500 turns each on one
// futex word, three times: each sleeps in FUTEX_WAIT until the word says
// its turn came, then passes the turn and wakes the other with a
// FUTEX_WAKE of one. The first time (wait=nap) the waits are plain
// FUTEX_WAITs without a timeout: on 2 CPUs with nothing else to run, the
// waiter naps on its CPU without the kernel lock and the wake ends the
// nap (kernel/fastfutex.go). The second and third times each wait is a
// FUTEX_WAIT_BITSET, which only the locked path serves: the waiter
// blocks, its CPU halts, and the kernel often hands the waiter to it
// without its lock (thread.HandOffFutexWake). The second time
// (wait=block) the waits have no timeout, and each side computes a
// little in its turn and after its wake (turnWorkBlock), so the halted
// CPU often runs the waiter handed to it without the kernel lock too
// (kernel.halt, sched.Scheduler.RunHandedOff); the third time
// (wait=timed) they have a deadline 10 s ahead, whose cancelling is the
// kernel lock's. A lost wake-up hangs the boot; each wake must report 0
// or 1 woken.
func takeTurns() error {
	for _, wait := range []string{"nap", "block", "timed"} {
		naps, wakes, handoffs, ran := fastPathCount("futex_wait_nap"), eventCount("futex_nap_wake"), eventCount("futex_handoff"), eventCount("idle_run_handed_off")
		expired := expiredHandOffs()
		if err := bothTurns(500, wait); err != nil {
			return err
		}
		fmt.Printf("threads locks: turns wait=%s napped=%d nap_wakes=%d handoffs=%d ran_handed_off=%d expired=%d\n", wait,
			fastPathCount("futex_wait_nap")-naps, eventCount("futex_nap_wake")-wakes, eventCount("futex_handoff")-handoffs,
			eventCount("idle_run_handed_off")-ran, expiredHandOffs()-expired)
	}
	return nil
}

// expiredHandOffs returns how many sleepers whose deadline passed the
// kernel put in an idle CPU's inbox (or on a napping CPU's queue): the
// other threads an idle CPU runs from its inbox besides FUTEX_WAKE's
// hand-offs (the runtime's own sleeps: sysmon's usleep).
func expiredHandOffs() int64 {
	return fastPathCount("sleep_expired_handoff") + fastPathCount("sleep_expired_idle")
}

// napWaits makes FUTEX_WAITs, every other one with a 10 s timeout, in
// bursts of napBurst until the program has counted goal naps and goal
// wakes of napping waiters since it began, or it has made limit waits.
// The kernel should answer them with a nap (kernel/fastfutex.go): a locked thread waits on a
// word while another locked thread, on the other CPU, computes (so it
// runs: a waker), then changes the word and wakes it, after a delay of
// 0 to 60 us (within the napper's 20 us poll, or after it halted). Each
// wait must return 0, EAGAIN or EINTR and end once the word changed. It
// prints how many waits it made and the program's futex naps and wakes
// of napping waiters over them, for the host to check.
//
// The runtime's sysmon must stay asleep meanwhile: at a 20 us period it
// wakes on the waiter's CPU (the other one computes) before most waits,
// and a wait beside a queued thread does not nap. So the waits run with
// idle Ps (GOMAXPROCS 4: sysmon leaves a P in a system call alone while
// one is idle), after 30 ms of computing with no system call (which
// backs sysmon's period off to 10 ms), and in bursts of napBurst, each
// by a new pair of goroutines: sysmon takes the P of a goroutine that has
// run for 10 ms without being scheduled anew as soon as it finds it in
// a system call, and each taking resets its period to 20 us.
func napWaits(goal, limit int) error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	spinFor(30 * time.Millisecond)
	naps0, wakes0 := fastPathCount("futex_wait_nap"), eventCount("futex_nap_wake")
	n, naps, wakes := 0, int64(0), int64(0)
	for n < limit && (naps < int64(goal) || wakes < int64(goal)) {
		if err := napBurstWaits(napBurst); err != nil {
			return err
		}
		n += napBurst
		naps, wakes = fastPathCount("futex_wait_nap")-naps0, eventCount("futex_nap_wake")-wakes0
	}
	fmt.Printf("threads locks: nap waits n=%d napped=%d nap_wakes=%d\n", n, naps, wakes)
	return nil
}

// napBurst is how many of napWaits' waits one pair of goroutines makes:
// a few milliseconds' worth under emulation, well within sysmon's 10 ms.
const napBurst = 10

// napBurstWaits is n of napWaits' waits, by a new waiter and waker.
func napBurstWaits(n int) error {
	var word, asked atomic.Uint32
	const failed = ^uint32(0)
	errs := make(chan error, 2)
	go func() { // the waker: spins until asked, then wakes
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := range n {
			for a := asked.Load(); a != uint32(i+1); a = asked.Load() {
				if a == failed {
					errs <- nil
					return
				}
			}
			spinFor(time.Duration(i%4) * 20 * time.Microsecond)
			word.Add(1)
			if _, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWakePrivate, 1, 0, 0, 0); e != 0 {
				errs <- fmt.Errorf("FUTEX_WAKE of the napper: %v", e)
				return
			}
		}
		errs <- nil
	}()
	go func() { // the waiter
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		long := unix.NsecToTimespec(10e9)
		for i := range n {
			v := word.Load()
			asked.Store(uint32(i + 1))
			var timeout uintptr // every other wait has one, which the wake comes well within
			if i%2 == 1 {
				timeout = uintptr(unsafe.Pointer(&long))
			}
			for word.Load() == v {
				_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWaitPrivate, uintptr(v), timeout, 0, 0)
				if e != 0 && e != unix.EAGAIN && e != unix.EINTR {
					asked.Store(failed) // the waker stops
					errs <- fmt.Errorf("FUTEX_WAIT that may nap: %v", e)
					return
				}
			}
		}
		errs <- nil
	}()
	return errors.Join(<-errs, <-errs)
}

// timedWaits makes FUTEX_WAITs with a timeout of timedWaitNs that
// nobody wakes, in bursts of napBurst: 50 at least, and then until the
// program has counted goal naps ended by their timeout since it began,
// or it has made limit waits. They run in the conditions napWaits sets
// up for its naps, beside a locked thread that computes on the other CPU
// (a waker that runs): the kernel should answer them with a nap that the
// timeout ends, with ETIMEDOUT and without the kernel lock
// (kernel/fastfutex.go). Each must return ETIMEDOUT (or EINTR), and none
// may return before its timeout. It prints how many waits it made, how
// many timed out, how many of those returned early, and the program's
// naps that timed out, for the host to check.
func timedWaits(goal, limit int) error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	spinFor(30 * time.Millisecond)
	before := eventCount("futex_nap_timeout")
	n, timedOut, early, napTimeouts := 0, 0, 0, int64(0)
	for n < limit && (n < 50 || napTimeouts < int64(goal)) {
		to, e, err := timedBurst(napBurst)
		if err != nil {
			return err
		}
		n, timedOut, early = n+napBurst, timedOut+to, early+e
		napTimeouts = eventCount("futex_nap_timeout") - before
	}
	fmt.Printf("threads locks: timed waits n=%d timed_out=%d early=%d nap_timeouts=%d\n", n, timedOut, early, napTimeouts)
	return nil
}

// timedWaitNs is the timeout of timedWaits' waits: 10 times a nap's
// poll, within its longest nap.
const timedWaitNs = 200_000

// timedBurst is n of timedWaits' waits, by a new waiter beside a new
// computing thread; it returns how many timed out and how many of those
// came back before their timeout.
func timedBurst(n int) (timedOut, early int, err error) {
	stopComputing := computeOn(1) // until the waits are over
	done := make(chan struct{})
	go func() { // the waiter
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		var word uint32
		ts := unix.NsecToTimespec(timedWaitNs)
		for range n {
			start := time.Now()
			_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWaitPrivate, 0,
				uintptr(unsafe.Pointer(&ts)), 0, 0)
			took := time.Since(start)
			switch e {
			case unix.ETIMEDOUT:
				timedOut++
				if took < timedWaitNs {
					early++
				}
			case unix.EINTR:
			default:
				err = fmt.Errorf("FUTEX_WAIT with a timeout, never woken: %v, want ETIMEDOUT", e)
				return
			}
		}
	}()
	<-done
	stopComputing()
	return timedOut, early, err
}

// computeOn starts n goroutines, each locked to its own thread, that
// compute without a system call until the returned function, which
// waits for them, is called.
func computeOn(n int) (stop func()) {
	var done atomic.Bool
	wg := onLockedThreads(n, true, func() {
		for !done.Load() {
		}
	})
	return func() {
		done.Store(true)
		wg.Wait()
	}
}

// spinFor computes for d without a system call.
func spinFor(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// bothTurns runs the two sides of turns, each on its own locked thread,
// n turns each, and returns their errors.
func bothTurns(n int, wait string) error {
	var turn uint32
	errs := make(chan error, 2)
	for me := range uint32(2) {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			errs <- turns(&turn, me, n, wait)
		}()
	}
	return errors.Join(<-errs, <-errs)
}

// turns is one side of takeTurns: n times, wait until *turn is me, then
// hand the turn to the other side and wake it. Each wait is a
// FUTEX_WAIT (wait "nap") or a FUTEX_WAIT_BITSET of any bit, without a
// timeout ("block") or until 10 s from now at most ("timed": it never
// should last that long).
func turns(turn *uint32, me uint32, n int, wait string) error {
	addr := uintptr(unsafe.Pointer(turn))
	op, tsp := uintptr(futexWaitPrivate), uintptr(0)
	if wait != "nap" {
		op = futexWaitBitsetPrivate
	}
	var ts unix.Timespec
	for range n {
		for {
			v := atomic.LoadUint32(turn)
			if v == me {
				break
			}
			if wait == "timed" {
				if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
					return err
				}
				ts.Sec += 10
				tsp = uintptr(unsafe.Pointer(&ts))
			}
			_, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, op, uintptr(v), tsp, 0, futexBitsetAny)
			if e != 0 && e != unix.EAGAIN && e != unix.EINTR {
				return fmt.Errorf("FUTEX_WAIT for the turn (wait %s): %v", wait, e)
			}
		}
		if wait == "block" {
			spinFor(2 * turnWorkBlock)
		}
		atomic.StoreUint32(turn, 1-me)
		r, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, futexWakePrivate, 1, 0, 0, 0)
		if e != 0 || r > 1 {
			return fmt.Errorf("FUTEX_WAKE of the other side: %d woken, %v", r, e)
		}
		if wait == "block" {
			spinFor(turnWorkBlock)
		}
	}
	return nil
}

// turnWorkBlock is how long a side computes after its wake in the turns
// whose waits block without a timeout, before it waits: time for the
// CPU the waiter was handed to to leave HLT and run it there (a waker
// that waits at once drains its partner on the locked path first,
// nearly always under emulation, and runs it on its own CPU). Each side
// computes twice as long in its turn before it passes the turn, so that
// the other is waiting by then, its CPU halted.
const turnWorkBlock = 40 * time.Microsecond

// shortSleeps makes the short nanosleeps the kernel answers without its
// lock (kernel/fastsleep.go) from a locked thread: 300 of 3 us (a delay
// loop) and 300 of 40 us (a nap, when nothing else waits to run), while
// another thread sends the sleeper SIGURG (the runtime's preemption
// signal, which it ignores when nothing is to be preempted) every 200
// us, to cut some naps short. Each sleep must last at least its length,
// or end in EINTR. It prints, for the host to check, how many delay
// loops the kernel counted over the first 300 (all threads'), and the
// sleeper's own naps over the second (its row of /proc/gometal/sched's
// nap table: count and time), with the second's wall time and the
// sleeper's CPU time.
func shortSleeps() error {
	tids := make(chan int, 1)
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		tids <- tid
		defer close(done)
		spins := fastPathCount("nanosleep_spin")
		if err := sleepLoop(3000, 300); err != nil {
			errs <- err
			return
		}
		spins = fastPathCount("nanosleep_spin") - spins
		naps, napUs := threadNaps(tid)
		var t0, t1 unix.Timespec
		unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t0)
		start := time.Now()
		err := sleepLoop(40000, 300)
		wall := time.Since(start)
		unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t1)
		naps2, napUs2 := threadNaps(tid)
		fmt.Printf("threads locks: short sleeps spun=%d napped=%d nap_us=%d wall_ns=%d cpu_ns=%d\n",
			spins, naps2-naps, napUs2-napUs, wall.Nanoseconds(), t1.Nano()-t0.Nano())
		if err == nil {
			err = longSleeps()
		}
		errs <- err
	}()
	tid := <-tids
	for {
		select {
		case <-done:
			return <-errs
		case <-time.After(200 * time.Microsecond):
			unix.Tgkill(os.Getpid(), tid, unix.SIGURG)
		}
	}
}

// longSleeps makes 100 nanosleeps of 300 us, longer than a nap, which
// the kernel answers by blocking under the CPU's run-queue lock, the
// CPU switching or going idle, and ends at its timer interrupt, without
// its lock (kernel/fastsleep.go's sleepBlock, kernel/fasttimer.go's
// expireSleepers), while shortSleeps' SIGURGs cut some short: each must
// return 0 after at least 300 us, or EINTR with the time it had left,
// no more than it asked for, written to rem. It prints how many sleeps
// blocked without the kernel lock (all threads').
func longSleeps() error {
	const ns = 300_000
	blocked := fastPathCount("nanosleep_switch") + fastPathCount("nanosleep_idle")
	req := unix.NsecToTimespec(ns)
	eintr := 0
	for range 100 {
		rem := unix.Timespec{Sec: -1}
		start := time.Now()
		_, _, e := unix.Syscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&req)), uintptr(unsafe.Pointer(&rem)), 0)
		took := time.Since(start)
		switch {
		case e == unix.EINTR:
			eintr++
			if left := rem.Nano(); left < 0 || left > ns {
				return fmt.Errorf("nanosleep(%d ns) ended by a signal after %v reported %d ns left", ns, took, left)
			}
		case e != 0:
			return fmt.Errorf("nanosleep(%d ns): %v", ns, e)
		case took.Nanoseconds() < ns:
			return fmt.Errorf("nanosleep(%d ns) returned after %v", ns, took)
		}
	}
	blocked = fastPathCount("nanosleep_switch") + fastPathCount("nanosleep_idle") - blocked
	fmt.Printf("threads locks: long sleeps blocked=%d eintr=%d\n", blocked, eintr)
	return nil
}

// epollWaits makes, on a locked thread, epoll_waits on an eventfd that
// the kernel blocks under the CPU's run-queue lock, without its lock
// (kernel/fastepoll.go): 40 with a 3 ms timeout that nothing ends but
// the timeout, which the CPU's timer interrupt ends without the kernel
// lock too (kernel/fasttimer.go's expireSleepers), each of which must
// return 0 after at least 3 ms; 40 without a timeout and 40 with one of
// 10 s, which another goroutine's eventfd write ends a millisecond
// later, each of which must return the one event, EPOLLIN with its
// data (the write, under the files lock alone, hands the waiter to its
// CPU, halted, or another halted one: package fdcalls' handOffWaiter;
// else the wake is the kernel lock's); 20 more with a 10 s timeout
// written while two locked threads compute (busyEpollWaits: the write
// queues the waiter on its busy CPU); and 10 without a timeout that a
// SIGURG ends, sent until the wait is over, each of which must return
// EINTR (never restarted, whatever SA_RESTART says). It prints how
// many waits blocked without the kernel lock, or found the event at
// their second look there (all threads', the runtime's poller's too),
// how many timeouts that lock did not serve while the 40 waits of
// 3 ms ran (the other threads then wait without a timeout: the main
// goroutine for the waiter, with no timer), and how many wakes of epoll
// waiters the writes handed off and sent to that lock's path over the
// 80 waits (all threads').
func epollWaits() error {
	blocked := fastPathCount("epoll_wait_block")
	results := make(chan string, 1)
	tids := make(chan int, 1)
	writes := make(chan struct{})
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		tids <- unix.Gettid()
		results <- epollWaiter(writes)
	}()
	tid := <-tids
	ended := func() error { // the waiter ended before the writes it waits for
		if r := <-results; r != "" {
			return errors.New(r)
		}
		return errors.New("the epoll waiter ended before its writes")
	}
	var efd int
	select {
	case efd = <-efds:
	case <-done:
		return ended()
	}
	for range 80 + busyWaits {
		select {
		case <-writes: // the waiter is about to wait
		case <-done:
			return ended()
		}
		time.Sleep(time.Millisecond)
		var one [8]byte
		one[0] = 1
		if _, err := unix.Write(efd, one[:]); err != nil {
			return fmt.Errorf("eventfd write: %v", err)
		}
	}
	for {
		select {
		case <-done:
			r := <-results
			if r != "" {
				return errors.New(r)
			}
			fmt.Printf("threads locks: epoll waits blocked=%d expired=%d\n",
				fastPathCount("epoll_wait_block")-blocked, timeoutsExpired.Load())
			fmt.Printf("threads locks: epoll wakes handoff=%d locked=%d\n", wakesHandedOff.Load(), wakesLocked.Load())
			fmt.Printf("threads locks: busy epoll wakes queued=%d locked=%d\n", busyQueued.Load(), busyLocked.Load())
			return nil
		case <-time.After(200 * time.Microsecond):
			if signalWaiter.Load() {
				unix.Tgkill(os.Getpid(), tid, unix.SIGURG)
			}
		}
	}
}

// efds hands epollWaiter's eventfd to the writer; signalWaiter is set
// while epollWaiter waits for the SIGURGs that end its last waits;
// timeoutsExpired is the kernel's count of epoll_wait timeouts ended
// without its lock over epollWaiter's 40 waits of 3 ms; wakesHandedOff
// and wakesLocked are its counts of epoll waiters woken by a file call
// under the files lock alone, handed to a halted CPU, and sent to the
// kernel lock's path (the epoll_wake line), over the 80 waits a write
// ends.
var (
	efds            = make(chan int, 1)
	signalWaiter    atomic.Bool
	timeoutsExpired atomic.Int64
	wakesHandedOff  atomic.Int64
	wakesLocked     atomic.Int64
	busyQueued      atomic.Int64
	busyLocked      atomic.Int64
)

// epollWaiter is epollWaits' waiting thread: it creates the epoll
// instance and the eventfd, sends the eventfd, then waits as
// epollWaits says, telling the writer on writes before each wait a
// write ends. It returns "" or what went wrong.
func epollWaiter(writes chan<- struct{}) string {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Sprintf("epoll_create1: %v", err)
	}
	defer unix.Close(ep)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Sprintf("eventfd: %v", err)
	}
	defer unix.Close(efd)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: 7, Pad: 9}); err != nil {
		return fmt.Sprintf("epoll_ctl: %v", err)
	}
	efds <- efd
	events := make([]unix.EpollEvent, 4)
	expired := fastPathCount("epoll_expired")
	for i := range 40 {
		start := time.Now()
		n, err := unix.EpollWait(ep, events, 3)
		for err == unix.EINTR { // a SIGURG of the runtime's: the wait is over, as on Linux
			start = time.Now()
			n, err = unix.EpollWait(ep, events, 3)
		}
		if took := time.Since(start); n != 0 || err != nil || took < 3*time.Millisecond {
			return fmt.Sprintf("epoll_wait %d (3 ms, nothing written): %d, %v after %v", i, n, err, took)
		}
	}
	timeoutsExpired.Store(fastPathCount("epoll_expired") - expired)
	handedOff, locked := fastPathCount("epoll_wake"), lockedPathCount("epoll_wake")
	for i := range 80 {
		timeout := -1
		if i%2 == 1 {
			timeout = 10_000
		}
		writes <- struct{}{}
		n, err := unix.EpollWait(ep, events, timeout)
		for err == unix.EINTR { // a SIGURG of the runtime's, before the write came
			n, err = unix.EpollWait(ep, events, timeout)
		}
		if n != 1 || err != nil || events[0].Events != unix.EPOLLIN || events[0].Fd != 7 || events[0].Pad != 9 {
			return fmt.Sprintf("epoll_wait %d (%d ms, written after 1 ms): %d, %v, event %+v", i, timeout, n, err, events[0])
		}
		var b [8]byte
		if _, err := unix.Read(efd, b[:]); err != nil || b[0] != 1 {
			return fmt.Sprintf("eventfd read after epoll_wait %d: %v, %v", i, err, b)
		}
	}
	wakesHandedOff.Store(fastPathCount("epoll_wake") - handedOff)
	wakesLocked.Store(lockedPathCount("epoll_wake") - locked)
	if r := busyEpollWaits(ep, efd, events, writes); r != "" {
		return r
	}
	signalWaiter.Store(true)
	defer signalWaiter.Store(false)
	for i := range 10 {
		if n, err := unix.EpollWait(ep, events, -1); err != unix.EINTR {
			return fmt.Sprintf("epoll_wait %d (no timeout, SIGURGs sent): %d, %v", i, n, err)
		}
	}
	return ""
}

// busyWaits is how many epoll_waits busyEpollWaits makes.
const busyWaits = 20

// busyEpollWaits is epollWaiter's last written waits: busyWaits waits
// with a timeout of 10 s, each ended by epollWaits' eventfd write a
// millisecond after the waiter says it is about to wait, while two
// other locked threads compute on the machine's two CPUs: the waiter's
// CPU switches to one of them when it blocks and still runs one when
// the write comes, so that the write cannot hand the waiter to a halted
// CPU and queues it on its CPU under the run-queue locks instead
// (kernel/fastepoll.go's epollWakeBusy). Each wait must return the one
// event with its data. It records the kernel's count of waiters so
// queued and of epoll wakes sent to the kernel lock's path over the
// waits (all threads'), and returns "" or what went wrong.
func busyEpollWaits(ep, efd int, events []unix.EpollEvent, writes chan<- struct{}) string {
	var stop atomic.Bool
	spinners := onLockedThreads(2, true, func() {
		for !stop.Load() {
		}
	})
	defer spinners.Wait()
	defer stop.Store(true)
	queued, locked := fastPathCount("epoll_wake_queued"), lockedPathCount("epoll_wake")
	for i := range busyWaits {
		writes <- struct{}{}
		n, err := unix.EpollWait(ep, events, 10_000)
		for err == unix.EINTR {
			n, err = unix.EpollWait(ep, events, 10_000)
		}
		if n != 1 || err != nil || events[0].Events != unix.EPOLLIN || events[0].Fd != 7 || events[0].Pad != 9 {
			return fmt.Sprintf("epoll_wait %d beside two computing threads (10 s, written after 1 ms): %d, %v, event %+v", i, n, err, events[0])
		}
		var b [8]byte
		if _, err := unix.Read(efd, b[:]); err != nil || b[0] != 1 {
			return fmt.Sprintf("eventfd read after busy epoll_wait %d: %v, %v", i, err, b)
		}
	}
	busyQueued.Store(fastPathCount("epoll_wake_queued") - queued)
	busyLocked.Store(lockedPathCount("epoll_wake") - locked)
	return ""
}

// timedFutexWaits makes, on a locked thread, 20 FUTEX_WAITs with a
// timeout of 8 ms that nobody wakes, longer than a nap
// (kernel/fastfutex.go's futexNapMaxNs, 4 ms: a nap, if one begins,
// ends by its own time, and the rest blocks with the timeout in its
// CPU's timer heap), each of which must return ETIMEDOUT after at least
// 8 ms (or EINTR, a runtime's signal, and the wait is made again); then
// 20 with a timeout of 2 s that another thread ends with a FUTEX_WAKE
// 6 ms after the waiter said it was about to wait, each of which must
// return 0 or EAGAIN (the word changed before the wait began) well
// before its timeout. It prints the kernel's counts, over the 20
// timeouts (every thread's: the others wait without a timeout
// meanwhile), of FUTEX_WAITs with a timeout that blocked without the
// kernel lock, of timeouts that ended without it and of FUTEX_WAITs
// sent to it, and the woken waits' results.
func timedFutexWaits() error {
	timed, expired, locked := fastPathCount("futex_wait_timed"), fastPathCount("futex_expired"), lockedPathCount("futex_wait")
	var word uint32
	var err error
	onLockedThreads(1, true, func() {
		ts := unix.NsecToTimespec(8_000_000)
		for i := 0; i < 20; i++ {
			start := time.Now()
			_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWaitPrivate, 0,
				uintptr(unsafe.Pointer(&ts)), 0, 0)
			if took := time.Since(start); e == unix.EINTR {
				i--
			} else if e != unix.ETIMEDOUT || took < 8*time.Millisecond {
				err = fmt.Errorf("FUTEX_WAIT %d with a timeout of 8 ms, never woken: %v after %v, want ETIMEDOUT after 8 ms or more", i, e, took)
				return
			}
		}
	}).Wait()
	if err != nil {
		return err
	}
	timed, expired = fastPathCount("futex_wait_timed")-timed, fastPathCount("futex_expired")-expired
	locked = lockedPathCount("futex_wait") - locked
	woken, again, err := wokenTimedWaits(20)
	if err != nil {
		return err
	}
	fmt.Printf("threads locks: timed futex waits blocked=%d expired=%d locked=%d woken=%d eagain=%d\n", timed, expired, locked, woken, again)
	return nil
}

// wokenTimedWaits is n of timedFutexWaits' FUTEX_WAITs with a timeout of
// 2 s, each ended by a FUTEX_WAKE from the calling goroutine 6 ms after
// the waiter, a locked thread, said it was about to wait. It returns
// how many returned 0 and how many EAGAIN.
func wokenTimedWaits(n int) (woken, again int, err error) {
	var word atomic.Uint32
	waiting := make(chan struct{})
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		ts := unix.NsecToTimespec(2_000_000_000)
		for i := range n {
			val := word.Load()
			waiting <- struct{}{}
			start := time.Now()
			_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWaitPrivate, uintptr(val),
				uintptr(unsafe.Pointer(&ts)), 0, 0)
			for e == unix.EINTR && word.Load() == val { // a runtime's signal before the wake
				_, _, e = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWaitPrivate, uintptr(val),
					uintptr(unsafe.Pointer(&ts)), 0, 0)
			}
			switch took := time.Since(start); {
			case took >= time.Second:
				err = fmt.Errorf("FUTEX_WAIT %d with a timeout of 2 s, woken after 6 ms: %v after %v", i, e, took)
				return
			case e == 0:
				woken++
			case e == unix.EAGAIN || e == unix.EINTR:
				again++
			default:
				err = fmt.Errorf("FUTEX_WAIT %d with a timeout of 2 s, woken after 6 ms: %v, want 0 or EAGAIN", i, e)
				return
			}
		}
	}()
	for range n {
		select {
		case <-waiting:
		case <-done:
			return woken, again, err
		}
		time.Sleep(6 * time.Millisecond)
		word.Add(1)
		unix.Syscall(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&word)), futexWakePrivate, 1)
	}
	<-done
	return woken, again, err
}

// lockedPathCount returns the locked count of a line of
// /proc/gometal/sched's fast-path table ("NAME LOCKFREE LOCKED"), or -1.
func lockedPathCount(name string) int64 { return schedCount(`(?m)^` + name + ` \d+ (\d+)$`) }

// fastPathCount returns the lock-free count of a line of
// /proc/gometal/sched's fast-path table ("NAME LOCKFREE LOCKED"), or -1.
func fastPathCount(name string) int64 { return schedCount(`(?m)^` + name + ` (\d+) \d+$`) }

// eventCount returns a line's count in /proc/gometal/sched's event table
// ("NAME COUNT"), or -1.
func eventCount(name string) int64 { return schedCount(`(?m)^` + name + ` (\d+)$`) }

// schedCount returns the number that pattern's group matches in
// /proc/gometal/sched, or -1.
func schedCount(pattern string) int64 {
	m := regexp.MustCompile(pattern).FindStringSubmatch(sched())
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// threadNaps returns thread tid's naps and their time in microseconds,
// from its row of /proc/gometal/sched's nap table ("tid naps nap_us",
// which lists only threads that napped: none is 0).
func threadNaps(tid int) (naps, us int64) {
	m := regexp.MustCompile(`(?m)^` + strconv.Itoa(tid) + ` (\d+) (\d+)$`).FindStringSubmatch(sched())
	if m == nil {
		return 0, 0
	}
	naps, _ = strconv.ParseInt(m[1], 10, 64)
	us, _ = strconv.ParseInt(m[2], 10, 64)
	return naps, us
}

// sleepLoop makes n nanosleeps of ns nanoseconds; each must return 0
// after at least ns, or EINTR.
func sleepLoop(ns int64, n int) error {
	req := unix.NsecToTimespec(ns)
	eintr := 0
	for range n {
		start := time.Now()
		_, _, e := unix.Syscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&req)), 0, 0)
		took := time.Since(start)
		switch {
		case e == unix.EINTR:
			eintr++
		case e != 0:
			return fmt.Errorf("nanosleep(%d ns): %v", ns, e)
		case took.Nanoseconds() < ns:
			return fmt.Errorf("nanosleep(%d ns) returned after %v", ns, took)
		}
	}
	fmt.Printf("threads locks: %d sleeps of %d ns, %d ended by a signal\n", n, ns, eintr)
	return nil
}

// futexWaitPrivate is FUTEX_WAIT | FUTEX_PRIVATE_FLAG (linux/futex.h).
const futexWaitPrivate = 0 | 128

// futexWaitBitsetPrivate is FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, and
// futexBitsetAny its bitset that matches any wake (linux/futex.h).
const (
	futexWaitBitsetPrivate = 9 | 128
	futexBitsetAny         = 0xffffffff
)
