// Command shell reads commands from the serial console (standard input)
// and answers them: a way to look inside a running image.
//
//	ps     the goroutines and their stacks
//	sched  per-CPU busy time, interrupts, halts, run queues, time slices
//	mem    the Go heap
//	echo   its arguments
//	exit   stop (exit N: with status N)
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	fmt.Println("gometal shell: ps, sched, mem, echo, exit")
	in := bufio.NewScanner(os.Stdin)
	for {
		fmt.Print("> ")
		if !in.Scan() {
			fmt.Println()
			return
		}
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "ps":
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			fmt.Printf("%d goroutines\n%s\n", runtime.NumGoroutine(), buf[:n])
		case "sched":
			b, err := os.ReadFile("/proc/gometal/sched")
			if err != nil {
				fmt.Println("sched:", err)
				continue
			}
			fmt.Print(string(b))
		case "mem":
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Printf("heap %d KiB in use, %d KiB from the OS, %d GCs\n", m.HeapInuse>>10, m.Sys>>10, m.NumGC)
		case "echo":
			fmt.Println(strings.Join(f[1:], " "))
		case "exit":
			code := 0
			if len(f) > 1 {
				code, _ = strconv.Atoi(f[1])
			}
			os.Exit(code)
		default:
			fmt.Printf("%s: unknown command (ps, sched, mem, echo, exit)\n", f[0])
		}
	}
}
