package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// The shared-reads stage: sharedRecords 8-byte records, record i holding
// i, read through one descriptor by readers threads at once, 8 records a
// read.
const (
	sharedRecords = 1 << 14
	sharedReaders = 4
	sharedChunk   = 8
)

// sharedReads writes a file of sharedRecords numbered records and reads
// it through one descriptor from sharedReaders threads at once, with
// read(2), which moves the description's offset: Linux serializes reads
// through one description (the file's f_pos_lock), so each read gets
// records of its own, whole and in order, and together they get every
// record exactly once. gometal serves these reads beside each other,
// under the files lock held shared and the description's offset lock
// (kernel/filetrap.go); a read that took an offset another was using
// would show a record twice. It says what it found.
func sharedReads(dir string) string {
	name := filepath.Join(dir, "records")
	b := make([]byte, 8*sharedRecords)
	for i := range sharedRecords {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(i))
	}
	check(os.WriteFile(name, b, 0o644))
	fd, err := unix.Open(name, unix.O_RDONLY, 0)
	check(err)
	defer unix.Close(fd)
	seen := make([]int, sharedRecords)
	var mu sync.Mutex
	var wg sync.WaitGroup
	bad := make(chan string, sharedReaders)
	for range sharedReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			buf := make([]byte, 8*sharedChunk)
			for {
				n, err := unix.Read(fd, buf)
				if err != nil || n%8 != 0 {
					bad <- fmt.Sprintf("read: %d bytes, %v", n, err)
					return
				}
				if n == 0 {
					return
				}
				first := binary.LittleEndian.Uint64(buf)
				mu.Lock()
				for k := 0; k < n; k += 8 {
					r := binary.LittleEndian.Uint64(buf[k:])
					if r != first+uint64(k/8) || r >= sharedRecords {
						bad <- fmt.Sprintf("a read's records are not in order: %d after %d", r, first)
						mu.Unlock()
						return
					}
					seen[r]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(bad)
	for s := range bad {
		return s
	}
	once := 0
	for _, k := range seen {
		if k == 1 {
			once++
		}
	}
	return fmt.Sprintf("%d records, %d read exactly once", sharedRecords, once)
}
