// Command timers exercises time.Sleep, time.Ticker, time.AfterFunc,
// time.Timer and context.WithTimeout. Every line it prints is decided by
// synchronisation or by lower bounds on elapsed time, never by a race, so
// the output is the same on every run however slow the machine is.
package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

const ms = time.Millisecond

func main() {
	start := time.Now()
	time.Sleep(20 * ms)
	fmt.Printf("sleep(20ms) took at least 20ms: %v\n", time.Since(start) >= 20*ms)

	start = time.Now()
	ticker := time.NewTicker(10 * ms)
	for i := 1; i <= 3; i++ {
		<-ticker.C
		fmt.Printf("tick %d\n", i)
	}
	ticker.Stop()
	fmt.Printf("3 ticks of 10ms took at least 30ms: %v\n", time.Since(start) >= 30*ms)

	fired := make(chan string)
	time.AfterFunc(15*ms, func() { fired <- "afterfunc fired" })
	fmt.Println(<-fired)
	never := time.AfterFunc(time.Hour, func() { panic("unreachable") })
	fmt.Printf("afterfunc stopped before firing: %v\n", never.Stop())

	start = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 25*ms)
	defer cancel()
	<-ctx.Done()
	fmt.Printf("context done: %v, after at least 25ms: %v\n", ctx.Err(), time.Since(start) >= 25*ms)

	select {
	case <-time.After(10 * ms):
		fmt.Println("10ms timer beat the 30s timer")
	case <-time.After(30 * time.Second):
		fmt.Println("30s timer won?!")
	}

	// Each timer delivers the time it was due, so sorting by that value
	// orders the timers by their durations even if they fire together.
	type due struct {
		name string
		at   time.Time
	}
	durations := []time.Duration{30 * ms, 10 * ms, 20 * ms}
	timers := make([]*time.Timer, len(durations))
	start = time.Now()
	for i, d := range durations {
		timers[i] = time.NewTimer(d)
	}
	var got []due
	for i, t := range timers {
		got = append(got, due{durations[i].String(), <-t.C})
	}
	slices.SortFunc(got, func(a, b due) int { return a.at.Compare(b.at) })
	for _, g := range got {
		fmt.Printf("timer %s fired\n", g.name)
	}

	reset := time.NewTimer(time.Hour)
	reset.Reset(5 * ms)
	<-reset.C
	fmt.Println("reset timer fired")
	fmt.Printf("all timers done after at least 30ms: %v\n", time.Since(start) >= 30*ms)
}
