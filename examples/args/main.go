// Command args prints its arguments and a few environment variables, to
// check that the kernel command line reaches the program: booted with
// -append 'FOO=bar GOMAXPROCS=1 -- -flag value' it must print the same as
// FOO=bar GOMAXPROCS=1 args -flag value on the host.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Printf("%d arguments\n", len(os.Args)-1)
	for i, a := range os.Args[1:] {
		fmt.Printf("arg %d: %q\n", i+1, a)
	}
	for _, name := range []string{"FOO", "GOMAXPROCS", "GOMETAL_UNSET_VARIABLE"} {
		if v, ok := os.LookupEnv(name); ok {
			fmt.Printf("%s=%q\n", name, v)
		} else {
			fmt.Printf("%s is not set\n", name)
		}
	}
	fmt.Printf("runtime.GOMAXPROCS(0) = %d\n", runtime.GOMAXPROCS(0))
}
