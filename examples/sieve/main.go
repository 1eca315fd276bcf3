// Command sieve prints the first 100 primes, found by the concurrent prime
// sieve: a chain of goroutines, one filter per prime, joined by channels.
package main

import (
	"fmt"
	"strings"
)

// generate sends 2, 3, 4, ... on ch.
func generate(ch chan<- int) {
	for i := 2; ; i++ {
		ch <- i
	}
}

// filter copies the values from in to out, dropping multiples of prime.
func filter(in <-chan int, out chan<- int, prime int) {
	for {
		if i := <-in; i%prime != 0 {
			out <- i
		}
	}
}

func main() {
	const n = 100
	ch := make(chan int)
	go generate(ch)
	primes := make([]string, 0, n)
	sum := 0
	for range n {
		prime := <-ch
		primes = append(primes, fmt.Sprint(prime))
		sum += prime
		next := make(chan int)
		go filter(ch, next, prime)
		ch = next
	}
	for i := 0; i < n; i += 10 {
		fmt.Println(strings.Join(primes[i:i+10], " "))
	}
	fmt.Printf("the first %d primes sum to %d\n", n, sum)
}
