// Command wb has a "trap entry" that stores a pointer into a global, which
// needs a GC write barrier: trapcheck must fail it.
package main

var global *int

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(p *int) {
	global = p
}

func main() {
	x := 1
	trapEntry(&x)
	println(*global)
}
