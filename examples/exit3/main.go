// Command exit3 prints a line and exits with status 3, to check that the
// guest's exit status reaches the host.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("about to exit with status 3")
	fmt.Fprintln(os.Stderr, "stderr: exiting")
	os.Exit(3)
}
