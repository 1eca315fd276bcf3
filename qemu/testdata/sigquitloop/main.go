// Command sigquitloop is the guest of TestConsoleSignalEveryRound. Its
// main goroutine, locked to the first thread (the one a terminal's signal
// goes to first), rounds times prints "ready N" and reads a line from
// standard input. The host answers "ready N" with Ctrl-\ (the terminal's
// SIGQUIT character), which the program catches and reports as "got N";
// the host then sends the newline that ends the read. The signal reaches
// the thread just as it enters its read: the moment a lost wake-up would
// leave the signal pending and the thread asleep for input that never
// comes, so "got N" would never be printed.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
)

func init() { runtime.LockOSThread() } // main runs on the first thread

func main() {
	rounds := 100
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "sigquitloop: bad round count:", os.Args[1])
			os.Exit(2)
		}
		rounds = n
	}
	quits := make(chan os.Signal, 1)
	signal.Notify(quits, syscall.SIGQUIT)
	go func() {
		for n := 1; ; n++ {
			<-quits
			fmt.Printf("got %d\n", n)
		}
	}()
	in := bufio.NewReader(os.Stdin)
	for i := 1; i <= rounds; i++ {
		fmt.Printf("ready %d\n", i)
		if _, err := in.ReadString('\n'); err != nil {
			fmt.Println("sigquitloop: read:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("%d rounds\n", rounds)
}
