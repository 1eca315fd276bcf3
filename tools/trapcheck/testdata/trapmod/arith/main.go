// Command arith has a "trap entry" that only does arithmetic: a helper
// with a switch that compiles to a jump table, a closure built in its
// caller's frame, and an assembly function that calls through a func value
// in read-only data. trapcheck must pass it.
package main

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(x, y uint64) uint64 {
	return helper(x, y) + callStatic(x) + batched(y)
}

// batched sums 0..n-1 in batches through a closure that captures its
// variables: the compiler builds it in batched's frame and calls it
// through a register.
//
//go:noinline
func batched(n uint64) uint64 {
	var batch [4]uint64
	k, sum := 0, uint64(0)
	flush := func() {
		if k == 0 {
			return
		}
		sum += weigh(uint64(k))
		for _, v := range batch[:k] {
			sum += weigh(v)
		}
		sum -= weigh(sum)
		k = 0
	}
	for i := uint64(0); i < n; i++ {
		batch[k] = i
		k++
		if k == len(batch) {
			flush()
		}
	}
	flush()
	return sum
}

//go:noinline
func weigh(v uint64) uint64 { return v*v + 1 }

//go:noinline
func helper(x, y uint64) uint64 {
	var acc [8]uint64
	for i := range acc {
		acc[i] = x<<uint(i) + y
	}
	switch x {
	case 0:
		y += 3
	case 1:
		y *= 5
	case 2:
		y ^= 0x55
	case 3:
		y -= 9
	case 4:
		y |= 1
	case 5:
		y <<= 2
	case 6:
		y >>= 1
	case 7:
		y &= 0xff
	case 8:
		y += x
	case 9:
		y = ^y
	}
	return acc[x&7] + acc[y&7]
}

// callStatic calls double through the func value doubleFunc (call_amd64.s).
func callStatic(x uint64) uint64

func main() { println(trapEntry(3, 4)) }
