// Command demo is the default program of `make run`: it reports the CPUs
// the Go runtime sees, then sieves the primes below two million in
// segments spread over GOMAXPROCS worker goroutines and prints results that
// do not depend on the number of CPUs or on timing.
package main

import (
	"fmt"
	"runtime"
	"sync"
)

const (
	limit    = 2_000_000
	segments = 40
	segSize  = limit / segments
)

// result is what one segment [lo, hi) holds.
type result struct {
	seg     int
	count   int
	sum     int
	largest int
}

// basePrimes returns the primes up to n with a plain sieve.
func basePrimes(n int) []int {
	composite := make([]bool, n+1)
	var primes []int
	for i := 2; i <= n; i++ {
		if !composite[i] {
			primes = append(primes, i)
			for j := i * i; j <= n; j += i {
				composite[j] = true
			}
		}
	}
	return primes
}

// sieve counts the primes in segment seg, crossing out multiples of base.
func sieve(seg int, base []int) result {
	lo, hi := seg*segSize, (seg+1)*segSize
	composite := make([]bool, hi-lo)
	for _, p := range base {
		start := max(p*p, (lo+p-1)/p*p)
		for j := start; j < hi; j += p {
			composite[j-lo] = true
		}
	}
	r := result{seg: seg}
	for i := max(lo, 2); i < hi; i++ {
		if !composite[i-lo] {
			r.count++
			r.sum += i
			r.largest = i
		}
	}
	return r
}

func main() {
	fmt.Printf("gometal demo: %s on %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("NumCPU: %d\n", runtime.NumCPU())
	fmt.Printf("GOMAXPROCS: %d\n", runtime.GOMAXPROCS(0))

	base := basePrimes(1415) // sqrt(2,000,000) < 1415
	work := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seg := range work {
				results <- sieve(seg, base)
			}
		}()
	}
	go func() {
		for seg := range segments {
			work <- seg
		}
		close(work)
		wg.Wait()
		close(results)
	}()

	bySeg := make([]result, segments)
	for r := range results {
		bySeg[r.seg] = r
	}
	total := result{}
	for _, r := range bySeg {
		total.count += r.count
		total.sum += r.sum
		total.largest = max(total.largest, r.largest)
	}
	fmt.Printf("sieved %d segments of %d numbers on GOMAXPROCS worker goroutines\n", segments, segSize)
	fmt.Printf("primes below %d: %d\n", limit, total.count)
	fmt.Printf("their sum: %d\n", total.sum)
	fmt.Printf("the largest: %d\n", total.largest)
	fmt.Printf("primes in the first and last segment: %d, %d\n", bySeg[0].count, bySeg[segments-1].count)
	fmt.Println("bye!")
}
