// Command alloc has a "trap entry" that allocates: trapcheck must fail it.
package main

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(n int) int {
	return count(n)
}

//go:noinline
func count(n int) int {
	b := make([]byte, n) // runtime.makeslice
	for i := range b {
		b[i] = byte(i)
	}
	return int(b[n/2])
}

func main() { println(trapEntry(100)) }
