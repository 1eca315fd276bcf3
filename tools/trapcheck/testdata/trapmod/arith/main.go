// Command arith has a "trap entry" that only does arithmetic and calls a
// helper, which reads a func literal through a static closure: trapcheck
// must pass it.
package main

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(x, y uint64) uint64 {
	mix := func(a, b uint64) uint64 { return a*31 + b>>3 }
	return mix(helper(x, y), x) ^ mix(y, 7)
}

//go:noinline
func helper(x, y uint64) uint64 {
	var acc [8]uint64
	for i := range acc {
		acc[i] = x<<uint(i) + y
	}
	return acc[x&7] + acc[y&7]
}

func main() { println(trapEntry(3, 4)) }
