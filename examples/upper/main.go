// Command upper reads lines from standard input until end of file and
// prints each in upper case, then how many it read: a check of console
// input (the virtio console's stdin port, or the UART's receive
// interrupt, feeding fd 0) and of end of file.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	n := 0
	for sc.Scan() {
		fmt.Println(strings.ToUpper(sc.Text()))
		n++
		if sc.Text() == "quit" {
			break
		}
	}
	fmt.Printf("%d lines\n", n)
}
