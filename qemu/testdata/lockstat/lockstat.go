// Package lockstat is what the boot tests' guest programs that measure
// the files lock (qemu/testdata/filelock, qemu/testdata/socklock) share:
// the lock's acquisitions from /proc/gometal/sched, and a stage's work
// run on several threads at once.
package lockstat

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Holds counts the files lock's acquisitions: taken exclusively and
// taken shared; and the closes that held it shared (file_close_beside:
// every close of a file or directory whose file holds no record locks,
// and of a pipe end but a FIFO's).
type Holds struct{ Exclusive, Shared, ClosesBeside uint64 }

// FilesLock returns how many times the files lock has been taken so far:
// the acquisitions of /proc/gometal/sched's files and files_shared lines,
// and its file_close_beside count (zeros where there is no such file:
// on the host).
func FilesLock() Holds {
	var h Holds
	b, _ := os.ReadFile("/proc/gometal/sched")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "files":
			h.Exclusive = n
		case "files_shared":
			h.Shared = n
		case "file_close_beside":
			h.ClosesBeside = n
		}
	}
	return h
}

// Since returns the acquisitions from before to h.
func (h Holds) Since(before Holds) Holds {
	return Holds{h.Exclusive - before.Exclusive, h.Shared - before.Shared, h.ClosesBeside - before.ClosesBeside}
}

// OnThreads runs work(n) for each n below threads, each on a thread of
// its own (runtime.LockOSThread), all at once, and returns the first
// failure as "thread n: error", or "".
func OnThreads(threads int, work func(n int) error) string {
	var wg sync.WaitGroup
	bad := make(chan string, threads)
	for n := range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			if err := work(n); err != nil {
				bad <- fmt.Sprintf("thread %d: %v", n, err)
			}
		})
	}
	wg.Wait()
	close(bad)
	for s := range bad {
		return s
	}
	return ""
}
