package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// The shared-opens stage: openFiles files, each holding its own name,
// opened openRounds times by each of sharedReaders threads.
const (
	openFiles  = 8
	openRounds = 64
)

// sharedOpens has sharedReaders threads open all openFiles files at
// once, read each through its new descriptor, and close them all,
// openRounds times. gometal serves these opens beside each other under
// the files lock held shared (kernel/filetrap.go), each claiming its
// description and descriptor atomically: two opens that took one
// descriptor or one description would read each other's file, or find
// theirs closed by the other's close. It says what it found.
func sharedOpens(dir string) string {
	names := make([]string, openFiles)
	for i := range names {
		names[i] = filepath.Join(dir, fmt.Sprintf("open%d", i))
		check(os.WriteFile(names[i], []byte(names[i]), 0o644))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	opens, right := 0, 0
	bad := make(chan string, sharedReaders)
	for range sharedReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			var fds [openFiles]int
			buf := make([]byte, 256)
			for range openRounds {
				for i, name := range names {
					fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
					if err != nil {
						bad <- fmt.Sprintf("open %s: %v", name, err)
						return
					}
					fds[i] = fd
				}
				ok := 0
				for i, fd := range fds {
					if n, err := unix.Pread(fd, buf, 0); err == nil && string(buf[:n]) == names[i] {
						ok++
					}
				}
				for _, fd := range fds {
					if err := unix.Close(fd); err != nil {
						bad <- fmt.Sprintf("close: %v", err)
						return
					}
				}
				mu.Lock()
				opens += openFiles
				right += ok
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(bad)
	for s := range bad {
		return s
	}
	return fmt.Sprintf("%d opens, %d read their own file", opens, right)
}
