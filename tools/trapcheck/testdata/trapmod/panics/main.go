// Command panics has a "trap entry" that panics: trapcheck must fail it.
package main

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(x int) int {
	if x == 42 {
		panic("bad value")
	}
	return x + 1
}

func main() { println(trapEntry(1)) }
