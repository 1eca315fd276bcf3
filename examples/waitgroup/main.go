// Command waitgroup starts 10,000 goroutines, joins them with a
// sync.WaitGroup and prints the sum of what they computed.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
)

func main() {
	const n = 10000
	var (
		wg    sync.WaitGroup
		sum   atomic.Int64
		mu    sync.Mutex
		count int
	)
	results := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = i * i % 7
			sum.Add(int64(i))
			mu.Lock()
			count++
			mu.Unlock()
		}()
	}
	wg.Wait()
	squares := 0
	for _, r := range results {
		squares += r
	}
	fmt.Printf("goroutines: %d\n", count)
	fmt.Printf("sum of 0..%d: %d\n", n-1, sum.Load())
	fmt.Printf("sum of i*i mod 7: %d\n", squares)
}
