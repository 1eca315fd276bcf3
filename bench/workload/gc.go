package main

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/gometal/gometal/tools/bench/stats"
)

// node is a heap object with pointers, so the collector has to trace.
type node struct {
	left, right *node
	data        [6]int64
}

// treeNodes is the size of one slot's tree: 15 nodes of 64 bytes.
const treeNodes = 15

// runGC keeps a live heap of -heap MiB in slots of small trees and
// replaces random slots until it has allocated 16 times the live heap,
// then reports the stop-the-world pauses of the collections that ran
// meanwhile and the total time.
func runGC() {
	slots := make([]*node, cfg.heapMiB<<20/(treeNodes*64))
	for i := range slots {
		slots[i] = tree(treeNodes)
	}
	runtime.GC()
	var before debug.GCStats
	debug.ReadGCStats(&before)
	r := rand.New(rand.NewPCG(1, 2))
	replace := n(16 * len(slots))
	start := time.Now()
	for range replace {
		slots[r.IntN(len(slots))] = tree(treeNodes)
	}
	total := time.Since(start)
	var after debug.GCStats
	debug.ReadGCStats(&after)
	runtime.KeepAlive(slots)

	cycles := int(after.NumGC - before.NumGC)
	pauses := after.Pause[:min(cycles, len(after.Pause))] // most recent first
	if len(pauses) == 0 {
		printNA("gc.pause.p50", "no collection ran; raise -scale")
		printNA("gc.pause.p99", "no collection ran; raise -scale")
	} else {
		us := micros(pauses)
		printResult("gc.pause.p50", stats.Percentile(us, 50), "us")
		printResult("gc.pause.p99", stats.Percentile(us, 99), "us")
	}
	printResult("gc.total", float64(total.Microseconds())/1e3, "ms")
	printResult("gc.count", float64(cycles), "count")
}

// tree builds a balanced tree of size nodes.
func tree(size int) *node {
	if size == 0 {
		return nil
	}
	left := (size - 1) / 2
	return &node{left: tree(left), right: tree(size - 1 - left)}
}
