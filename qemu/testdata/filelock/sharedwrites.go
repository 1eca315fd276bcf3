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

// sharedWrites has sharedReaders threads write sharedRecords 8-byte
// records in all, sharedChunk to a call, each record naming its thread
// and its number: with write(2) through one descriptor (which moves the
// description's offset: Linux serializes writes through one description
// with its f_pos_lock, so each write gets a range of its own), and with
// pwrite(2) into a second file, each chunk at a place of its own. The
// first file must hold every record exactly once, each write's records
// together; the second every record where it was put. gometal serves
// both kinds of write beside each other, under the files lock held
// shared, the file's data lock and, for write, the description's offset
// lock (kernel/filetrap.go): a write that took an offset another was
// using would lose records, and a page or size one write added that
// another's overwrote would lose bytes. It says what it found.
func sharedWrites(dir string) string {
	through, placed := filepath.Join(dir, "written"), filepath.Join(dir, "placed")
	fd, err := unix.Open(through, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	check(err)
	pd, err := unix.Open(placed, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	check(err)
	per := sharedRecords / sharedReaders // records per thread
	var wg sync.WaitGroup
	bad := make(chan string, 2*sharedReaders)
	for w := range sharedReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			buf := make([]byte, 8*sharedChunk)
			for c := range per / sharedChunk {
				for k := range sharedChunk {
					binary.LittleEndian.PutUint64(buf[8*k:], uint64(w)<<32|uint64(c*sharedChunk+k))
				}
				if n, err := unix.Write(fd, buf); n != len(buf) || err != nil {
					bad <- fmt.Sprintf("write: %d bytes, %v", n, err)
					return
				}
				at := int64(c*sharedReaders+w) * int64(len(buf))
				if n, err := unix.Pwrite(pd, buf, at); n != len(buf) || err != nil {
					bad <- fmt.Sprintf("pwrite: %d bytes, %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(bad)
	check(unix.Close(fd))
	check(unix.Close(pd))
	for s := range bad {
		return s
	}
	return fmt.Sprintf("%s; %s", writtenOnce(through, per), placedRight(placed, per))
}

// writtenOnce checks the file the threads wrote through one description:
// every record exactly once, each write's sharedChunk records together
// and in order.
func writtenOnce(name string, per int) string {
	b, err := os.ReadFile(name)
	check(err)
	if len(b) != 8*sharedRecords {
		return fmt.Sprintf("written through one description: %d bytes, want %d", len(b), 8*sharedRecords)
	}
	seen := make([]int, sharedRecords)
	for at := 0; at < len(b); at += 8 * sharedChunk {
		first := binary.LittleEndian.Uint64(b[at:])
		for k := range sharedChunk {
			r := binary.LittleEndian.Uint64(b[at+8*k:])
			w, i := int(r>>32), int(uint32(r))
			if r != first+uint64(k) || w >= sharedReaders || i >= per {
				return fmt.Sprintf("written through one description: record %#x at byte %d breaks its write", r, at+8*k)
			}
			seen[w*per+i]++
		}
	}
	once := 0
	for _, k := range seen {
		if k == 1 {
			once++
		}
	}
	return fmt.Sprintf("%d records written through one description, %d exactly once", sharedRecords, once)
}

// placedRight checks the file the threads wrote with pwrite: thread w's
// chunk c at chunk place c*sharedReaders+w.
func placedRight(name string, per int) string {
	b, err := os.ReadFile(name)
	check(err)
	right := 0
	for w := range sharedReaders {
		for i := range per {
			at := 8 * ((i/sharedChunk*sharedReaders+w)*sharedChunk + i%sharedChunk)
			if at+8 <= len(b) && binary.LittleEndian.Uint64(b[at:]) == uint64(w)<<32|uint64(i) {
				right++
			}
		}
	}
	return fmt.Sprintf("%d bytes placed by pwrite, %d records where they were put", len(b), right)
}
