// Command hello prints a greeting and a few facts that are the same on every
// run, on the host and in a gometal guest.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

func main() {
	fmt.Println("hello, world")
	fmt.Printf("built with %s for %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("int is %d bits wide\n", strconv.IntSize)
	fmt.Fprintln(os.Stderr, "this line went to stderr")
	fmt.Println("bye")
}
