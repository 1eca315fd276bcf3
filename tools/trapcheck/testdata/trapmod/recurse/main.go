// Command recurse has a "trap entry" that recurses: trapcheck cannot bound
// its stack depth and must fail it.
package main

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(n int) int {
	return even(n)
}

//go:noinline
func even(n int) int {
	if n == 0 {
		return 1
	}
	return odd(n - 1)
}

//go:noinline
func odd(n int) int {
	if n == 0 {
		return 0
	}
	return even(n - 1)
}

func main() { println(trapEntry(10)) }
