// Command alloc1g allocates 1 GiB in 64 MiB chunks, keeps all of it live
// and writes to every page, then checks what it wrote. In a guest it needs
// about 2 GiB of memory (qemu -m 2G).
package main

import "fmt"

func main() {
	const (
		chunk  = 64 << 20
		chunks = 16
		page   = 4096
	)
	var kept [][]byte
	for i := range chunks {
		b := make([]byte, chunk)
		for off := 0; off < chunk; off += page {
			b[off] = byte(i + off/page)
		}
		kept = append(kept, b)
		fmt.Printf("chunk %2d: %4d MiB allocated\n", i+1, (i+1)*chunk>>20)
	}
	bad := 0
	for i, b := range kept {
		for off := 0; off < chunk; off += page {
			if b[off] != byte(i+off/page) {
				bad++
			}
		}
	}
	fmt.Printf("pages checked: %d, wrong: %d\n", chunks*chunk/page, bad)
	fmt.Println("done")
}
