// Command gcstress allocates many times its live heap, so the garbage
// collector must run, and prints a checksum of what it kept and that the
// collector ran (as a boolean: the number of cycles varies).
package main

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
)

// node is a binary tree node: pointer-rich garbage for the collector.
type node struct {
	left, right *node
	val         uint32
}

// tree builds a complete tree of the given depth.
func tree(depth int, val uint32) *node {
	if depth == 0 {
		return &node{val: val}
	}
	return &node{left: tree(depth-1, 2*val), right: tree(depth-1, 2*val+1), val: val}
}

// check folds a tree into a number.
func (n *node) check() uint32 {
	if n.left == nil {
		return n.val
	}
	return n.val ^ (n.left.check() + 3*n.right.check())
}

func main() {
	const (
		slots     = 256      // live byte slices
		chunk     = 16 << 10 // bytes per slice
		rounds    = 8192     // slices allocated in all
		treeDepth = 12       // nodes per tree: 8191
		trees     = 96       // trees allocated in all
		liveTrees = 4        // trees kept at a time
	)
	rng := rand.New(rand.NewPCG(1, 2))
	ring := make([][]byte, slots)
	crc := crc32.NewIEEE()
	allocated := 0
	for i := range rounds {
		b := make([]byte, chunk)
		for j := 0; j < chunk; j += 64 {
			b[j] = byte(rng.Uint32())
		}
		ring[i%slots] = b
		allocated += chunk
		if i%slots == slots-1 {
			crc.Write(ring[rng.IntN(slots)])
		}
	}
	kept := make([]*node, liveTrees)
	var sum uint32
	for i := range trees {
		t := tree(treeDepth, uint32(i))
		sum += t.check()
		kept[i%liveTrees] = t
		allocated += (1<<(treeDepth+1) - 1) * 24
	}
	for _, b := range ring {
		crc.Write(b)
	}
	for _, t := range kept {
		sum += t.check()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("allocated at least %d MiB, live about %d MiB\n", allocated>>20, (slots*chunk)>>20)
	fmt.Printf("checksum: %08x %08x\n", crc.Sum32(), sum)
	fmt.Printf("gc ran: %v\n", ms.NumGC > 0)
}
