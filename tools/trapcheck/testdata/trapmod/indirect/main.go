// Command indirect has a "trap entry" that calls a function value held in
// a variable: trapcheck fails it unless an allowlist entry names the
// possible targets.
package main

var hook = func(x int) int { return x + 1 }

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(x int) int {
	return hook(x)
}

func main() { println(trapEntry(1)) }
