// Command stackoverflow recurses without bound: the runtime must end it
// with its own "goroutine stack exceeds" fatal error.
package main

import (
	"fmt"
	"runtime/debug"
)

func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[0])
}

func main() {
	debug.SetMaxStack(1 << 20)
	fmt.Println("recursing")
	fmt.Println(recurse(0))
}
