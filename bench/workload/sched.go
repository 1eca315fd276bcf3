package main

import (
	"runtime"
	"sync"
	"time"
)

// runSpawn creates goroutines that exit at once and waits for all of them:
// the cost of one create+exit, amortized.
func runSpawn() {
	count := n(20000)
	var wg sync.WaitGroup
	start := time.Now()
	for range count {
		wg.Add(1)
		go wg.Done()
	}
	wg.Wait()
	perOp("sched.spawn", time.Since(start), count)
}

// runPingPongLocal bounces a token between two goroutines over unbuffered
// channels at GOMAXPROCS=1: one result is one round trip (two hand-offs).
func runPingPongLocal() {
	runtime.GOMAXPROCS(1)
	count := n(20000)
	perOp("sched.pingpong.local", pingPong(count, false), count)
}

// runPingPongCross is runPingPongLocal at GOMAXPROCS=2 with each goroutine
// locked to its own OS thread, so that every hand-off wakes another thread
// (on another CPU when the kernel spreads them).
func runPingPongCross() {
	const name = "sched.pingpong.cross"
	if !needCPUs(2, name) {
		return
	}
	runtime.GOMAXPROCS(2)
	count := n(2000)
	perOp(name, pingPong(count, true), count)
}

// pingPong runs count round trips and returns how long they took.
func pingPong(count int, lock bool) time.Duration {
	ping, pong := make(chan int), make(chan int)
	go func() {
		if lock {
			runtime.LockOSThread()
		}
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	if lock {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	start := time.Now()
	for i := range count {
		ping <- i
		<-pong
	}
	d := time.Since(start)
	close(ping)
	<-pong
	return d
}

// runGosched has two goroutines on one P yield to each other: one result
// is one round trip (each goroutine yields once).
func runGosched() {
	runtime.GOMAXPROCS(1)
	count := n(20000)
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	for range 2 {
		go func() {
			defer wg.Done()
			for range count {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	perOp("sched.gosched", time.Since(start), count)
}

// runMutex has four goroutines take turns on one sync.Mutex, each yielding
// while it holds the lock so that the others queue on it: every Unlock
// hands the lock to a waiter. One result is one Lock/Unlock pair.
func runMutex() {
	const workers = 4
	per := n(5000)
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(workers)
	start := time.Now()
	for range workers {
		go func() {
			defer wg.Done()
			for range per {
				mu.Lock()
				runtime.Gosched()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	perOp("sched.mutex", time.Since(start), workers*per)
}

// runWGFan starts 10,000 goroutines that each call Done on one WaitGroup
// and waits for them, several rounds: one result is one round.
func runWGFan() {
	const fan = 10000
	rounds := n(5)
	start := time.Now()
	for range rounds {
		var wg sync.WaitGroup
		wg.Add(fan)
		for range fan {
			go wg.Done()
		}
		wg.Wait()
	}
	d := time.Since(start) / time.Duration(rounds)
	printResult("sched.wgfan", float64(d.Microseconds())/1e3, "ms")
}
