// Command testprogress runs "go test -json ARGS..." and prints go test's
// usual per-package lines ("ok  \tPKG\t12.3s", "FAIL\tPKG\t...", "?   \tPKG\t[no
// test files]") as each package finishes, in the order they finish, with
// the output of failed tests, and every 30 s a line naming the packages
// still running and for how long: make test shows progress instead of
// nothing for minutes. It exits with go test's status.
//
// Usage:
//
//	go run ./tools/testprogress [go test flags] [packages]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run runs go test -json with args and reports on out; it returns the exit
// status.
func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = errOut
	events, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(errOut, "testprogress:", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(errOut, "testprogress:", err)
		return 1
	}
	p := newPrinter(out, time.Now)
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	done := make(chan error, 1)
	go func() { done <- p.consume(events) }()
	for {
		select {
		case <-tick.C:
			p.running()
		case err := <-done:
			if err != nil {
				fmt.Fprintln(errOut, "testprogress: reading go test's events:", err)
			}
			werr := cmd.Wait()
			p.summary()
			if exit, ok := werr.(*exec.ExitError); ok {
				return exit.ExitCode()
			}
			if werr != nil {
				fmt.Fprintln(errOut, "testprogress:", werr)
				return 1
			}
			if p.failed {
				return 1
			}
			return 0
		}
	}
}
