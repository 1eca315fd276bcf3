// Command stress exercises the scheduler under SMP for a while: goroutines
// exchanging values over channels, mutexes, a sync.Cond queue, WaitGroups,
// atomics and timers, with the garbage collector running throughout. Every
// round checks its result; any lost wake-up shows up as a hang (the boot
// test's timeout), any corruption as a wrong sum.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var garbage atomic.Pointer[[]byte]

func channels(workers, items int) int {
	in, out := make(chan int), make(chan int, 16)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range in {
				b := make([]byte, 64+v%512) // keep the GC busy
				garbage.Store(&b)
				out <- v * 2
			}
		}()
	}
	go func() {
		for i := 1; i <= items; i++ {
			in <- i
		}
		close(in)
	}()
	go func() { wg.Wait(); close(out) }()
	sum := 0
	for v := range out {
		sum += v
	}
	return sum
}

func mutexes(goroutines, incs int) int {
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < incs; i++ {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// condQueue passes items through a bounded queue guarded by a sync.Cond.
func condQueue(producers, items int) int {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	var q []int
	const capacity = 4
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < items; i++ {
				mu.Lock()
				for len(q) == capacity {
					cond.Wait()
				}
				q = append(q, 1)
				cond.Broadcast()
				mu.Unlock()
			}
		}()
	}
	got := 0
	for got < producers*items {
		mu.Lock()
		for len(q) == 0 {
			cond.Wait()
		}
		got += len(q)
		q = q[:0]
		cond.Broadcast()
		mu.Unlock()
	}
	wg.Wait()
	return got
}

func atomicsAndTimers(n int) int64 {
	var count atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		time.AfterFunc(time.Duration(i%5)*time.Millisecond, func() {
			count.Add(1)
			wg.Done()
		})
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%3) * time.Millisecond)
			count.Add(1)
		}()
	}
	wg.Wait()
	return count.Load()
}

func main() {
	d := flag.Duration("d", 2*time.Second, "how long to run")
	flag.Parse()
	deadline := time.Now().Add(*d)
	rounds := 0
	fail := func(what string, got, want any) {
		fmt.Printf("stress: FAIL in round %d: %s = %v, want %v\n", rounds, what, got, want)
		os.Exit(1)
	}
	for rounds == 0 || time.Now().Before(deadline) {
		if s := channels(8, 2000); s != 2000*2001 {
			fail("channel sum", s, 2000*2001)
		}
		if n := mutexes(16, 500); n != 8000 {
			fail("mutex count", n, 8000)
		}
		if n := condQueue(6, 300); n != 1800 {
			fail("cond items", n, 1800)
		}
		if n := atomicsAndTimers(200); n != 400 {
			fail("atomic count", n, 400)
		}
		if rounds%4 == 0 {
			runtime.GC()
		}
		rounds++
	}
	fmt.Fprintf(os.Stderr, "stress: %d rounds on %d CPUs\n", rounds, runtime.NumCPU())
	fmt.Println("stress: ok")
}
