// Command oom allocates and touches memory until the Go runtime runs out
// and dies with "fatal error: runtime: out of memory" and a non-zero exit
// status. It is meant for a guest with little memory (qemu -m 256M); on a
// host it gives up at 4 GiB, so running it by mistake stays harmless, and
// then exits with status 1.
package main

import (
	"fmt"
	"os"
)

func main() {
	const (
		chunk = 16 << 20
		limit = 4 << 30
		page  = 4096
	)
	var kept [][]byte
	for total := chunk; total <= limit; total += chunk {
		b := make([]byte, chunk)
		for off := 0; off < chunk; off += page {
			b[off] = 1
		}
		kept = append(kept, b)
		fmt.Printf("%d MiB\n", total>>20)
	}
	fmt.Printf("still alive after %d chunks: no out-of-memory error\n", len(kept))
	os.Exit(1)
}
