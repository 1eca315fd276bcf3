// Command pollstdin reads standard input through the runtime's netpoller:
// it makes fd 0 non-blocking, so os.NewFile registers it with epoll and a
// read parks the goroutine until the descriptor becomes readable. On
// gometal that is the UART's receive interrupt making fd 0 ready, waking
// the thread blocked in epoll_pwait: the interrupt-driven I/O path that
// drivers use.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := syscall.SetNonblock(0, true); err != nil {
		fmt.Println("SetNonblock:", err)
		os.Exit(1)
	}
	in := os.NewFile(0, "stdin")
	// A deadline works only on a descriptor the netpoller manages.
	if err := in.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		fmt.Println("stdin is not pollable:", err)
		os.Exit(1)
	}
	done := make(chan int)
	go func() {
		n := 0
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			fmt.Println(strings.ToUpper(sc.Text()))
			n++
			if sc.Text() == "quit" {
				break
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Println("read:", err)
		}
		done <- n
	}()
	fmt.Printf("%d lines through the netpoller\n", <-done)
}
