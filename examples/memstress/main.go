// Command memstress stresses the memory system calls and page faults on
// every CPU at once, for the kernel's memory lock (issue 18): mappings
// made, demand-faulted in random order, write-protected, zapped with
// MADV_DONTNEED, split and unmapped by several goroutines while others
// fault their own pages in; pairs of threads check that a protection
// change or a zap made on one CPU is seen at once on another (a stale TLB
// entry shows as data where a fault or zeros were due); threads race a
// change to the pages they touch, or take the first fault on the same
// fresh page at once; the garbage collector grows and returns the heap;
// file and pipe calls copy to and from fresh mappings, beside changes of
// their protection and beside zaps of their pages; and one goroutine
// takes deliberate faults on PROT_NONE memory. Every page carries a
// pattern of its worker, round and page, so a lost, swapped or corrupted
// page is named when it is read.
//
// Flags: -d how long to run (2s), -seed the random seed (0: from the
// clock), -stall how long a worker may go without finishing a round
// before the run counts as hung (20s), -sched print the guest's
// /proc/gometal/sched (lock statistics) at the end. A failed check
// prints a line starting "memstress: FAIL" and exits 1; a pass prints
// "memstress: ok" on stdout, the same on Linux and in the guest, and the
// round counts on stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

func main() {
	d := flag.Duration("d", 2*time.Second, "how long to run")
	seed := flag.Uint64("seed", 0, "random seed (0: from the clock)")
	stall := flag.Duration("stall", 20*time.Second, "the longest a worker may take for one round")
	sched := flag.Bool("sched", false, "print /proc/gometal/sched (the guest's lock statistics) to stderr at the end")
	flag.Parse()
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	runSeed = *seed
	cpus := runtime.NumCPU()
	if p := runtime.GOMAXPROCS(0); p != cpus {
		fail("setup", "GOMAXPROCS is %d, NumCPU %d", p, cpus)
	}
	ws := workers(cpus)
	deadline := time.Now().Add(*d)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(deadline)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	watch(ws, done, *stall)
	fmt.Fprintf(os.Stderr, "memstress: %d rounds on %d CPUs (%s), %d accesses raced a change, copies beside mprotect %d whole %d short %d EFAULT, beside madvise %d, seed %d\n",
		total(ws), cpus, counts(ws), raced.Load(), copies[copyWhole].Load(), copies[copyShort].Load(), copies[copyFault].Load(), zapCopies.Load(), runSeed)
	if *sched {
		printSched()
	}
	fmt.Println("memstress: ok")
}

// printSched copies /proc/gometal/sched to stderr between the lines
// "memstress: sched" and "memstress: sched end", where there is one.
func printSched() {
	if b, err := os.ReadFile("/proc/gometal/sched"); err == nil {
		fmt.Fprintf(os.Stderr, "memstress: sched\n%smemstress: sched end\n", b)
	}
}

// workers returns the run's workers: a mapping worker per CPU (at least
// two), two heap workers, and one each of the shootdown pair, the race,
// the shared first faults, the file and pipe calls, the copies beside
// mprotect, the copies beside madvise and the deliberate faults.
func workers(cpus int) []*worker {
	var ws []*worker
	add := func(kind string, body func(w *worker)) {
		ws = append(ws, newWorker(len(ws)+1, kind, body))
	}
	for range max(2, cpus) {
		add("mmap", mapRounds)
	}
	add("heap", func(w *worker) { heapRounds(w, true) })
	add("heap", func(w *worker) { heapRounds(w, false) })
	add("shootdown", shootdownRounds)
	add("race", raceRounds)
	add("share", shareRounds)
	add("files", fileRounds)
	add("copy", copyRounds)
	add("zapcopy", zapCopyRounds)
	add("faults", faultRounds)
	return ws
}

// watch waits for done, and fails the run if a worker goes stall
// without finishing a round: a deadlock or a lost wake-up.
func watch(ws []*worker, done <-chan struct{}, stall time.Duration) {
	tick := time.NewTicker(stall / 4)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			for _, w := range ws {
				if last := w.lastProgress(); now.Sub(last) > stall {
					hung(ws, w, now.Sub(last))
				}
			}
		}
	}
}

// hung reports worker h hung for d: every goroutine's stack, what each
// worker was doing, and the kernel's scheduler state where there is one
// (/proc/gometal/sched, in the guest); then it fails the run.
func hung(ws []*worker, h *worker, d time.Duration) {
	buf := make([]byte, 1<<20)
	os.Stderr.Write(buf[:runtime.Stack(buf, true)])
	for _, w := range ws {
		fmt.Fprintf(os.Stderr, "%s: %d rounds, %v since the last: %s\n", w.name(), w.rounds.Load(), time.Since(w.lastProgress()).Round(time.Millisecond), w.doing())
	}
	printSched()
	fail(h.name(), "no round finished for %v (round %d): hung", d.Round(time.Millisecond), h.rounds.Load())
}

// total is the number of rounds of every worker.
func total(ws []*worker) int64 {
	var n int64
	for _, w := range ws {
		n += w.rounds.Load()
	}
	return n
}

// counts lists the rounds by kind of worker, in the order of ws.
func counts(ws []*worker) string {
	var kinds []string
	byKind := map[string]int64{}
	for _, w := range ws {
		if _, ok := byKind[w.kind]; !ok {
			kinds = append(kinds, w.kind)
		}
		byKind[w.kind] += w.rounds.Load()
	}
	s := ""
	for i, k := range kinds {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, byKind[k])
	}
	return s
}
