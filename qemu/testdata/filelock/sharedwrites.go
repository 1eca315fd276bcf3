package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// sharedWrites has sharedReaders threads write sharedRecords 8-byte
// records in all, sharedChunk to a call, each record naming its thread
// and its number: with write(2) through one descriptor (which moves the
// description's offset: Linux serializes writes through one description
// with its f_pos_lock, so each write gets a range of its own), and with
// pwrite(2) into a second file, each chunk at a place of its own, and
// with write(2) through a descriptor of each thread's own opened
// O_APPEND on a third file. The first and third files must hold every
// record exactly once, each write's records together; the second every
// record where it was put; and after each append the thread's offset
// must lie just past its own chunk (Linux sets it to the end of that
// write), where a pread finds the chunk. gometal serves the three kinds
// of write beside each other, under the files lock held shared, the
// file's data lock (an append reads the size it writes at under it)
// and, for write, the description's offset lock (kernel/filetrap.go): a
// write that took an offset another was using would lose records, and a
// page or size one write added that another's overwrote would lose
// bytes. It says what it found.
func sharedWrites(dir string) string {
	through, placed, appended := filepath.Join(dir, "written"), filepath.Join(dir, "placed"), filepath.Join(dir, "appended")
	check(os.WriteFile(appended, nil, 0o644))
	fd, err := unix.Open(through, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	check(err)
	pd, err := unix.Open(placed, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644)
	check(err)
	per := sharedRecords / sharedReaders // records per thread
	var wg sync.WaitGroup
	bad := make(chan string, 2*sharedReaders)
	var atOffset atomic.Int64 // appends found just before their thread's offset
	for w := range sharedReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			ad, err := unix.Open(appended, unix.O_RDWR|unix.O_APPEND, 0)
			if err != nil {
				bad <- fmt.Sprintf("open to append: %v", err)
				return
			}
			defer unix.Close(ad)
			buf, back := make([]byte, 8*sharedChunk), make([]byte, 8*sharedChunk)
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
				if n, err := unix.Write(ad, buf); n != len(buf) || err != nil {
					bad <- fmt.Sprintf("append: %d bytes, %v", n, err)
					return
				}
				end, err := unix.Seek(ad, 0, unix.SEEK_CUR)
				if n, _ := unix.Pread(ad, back, end-int64(len(buf))); err == nil && n == len(back) && string(back) == string(buf) {
					atOffset.Add(1)
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
	return fmt.Sprintf("%s; %s; %s, %d appends just before their offset; %s", writtenOnce(through, "through one description", per),
		placedRight(placed, per), writtenOnce(appended, "appended through a description each", per), atOffset.Load(),
		appendOffsets(filepath.Join(dir, "offsets")))
}

// appendOffsets writes to a file opened O_APPEND as Linux documents it:
// pwrite(2) appends whatever its offset (pwrite(2), BUGS) and leaves the
// descriptor's offset alone, a write of nothing leaves it too, and a
// write moves it just past its bytes at the end. It says what it found.
func appendOffsets(name string) string {
	check(os.WriteFile(name, []byte("abc"), 0o644))
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_APPEND, 0)
	check(err)
	defer unix.Close(fd)
	n, err := unix.Pwrite(fd, []byte("XY"), 0)
	check(err)
	afterPwrite, err := unix.Seek(fd, 0, unix.SEEK_CUR)
	check(err)
	_, err = unix.Write(fd, nil)
	check(err)
	afterEmpty, err := unix.Seek(fd, 0, unix.SEEK_CUR)
	check(err)
	_, err = unix.Write(fd, []byte("Z"))
	check(err)
	afterWrite, err := unix.Seek(fd, 0, unix.SEEK_CUR)
	check(err)
	b, err := os.ReadFile(name)
	check(err)
	return fmt.Sprintf("pwrite at 0 on O_APPEND: %d bytes, offset %d; empty write: offset %d; write: offset %d; file %q",
		n, afterPwrite, afterEmpty, afterWrite, b)
}

// writtenOnce checks a file the threads wrote at its offset (how says
// how): every record exactly once, each write's sharedChunk records
// together and in order.
func writtenOnce(name, how string, per int) string {
	b, err := os.ReadFile(name)
	check(err)
	if len(b) != 8*sharedRecords {
		return fmt.Sprintf("%s: %d bytes, want %d", how, len(b), 8*sharedRecords)
	}
	seen := make([]int, sharedRecords)
	for at := 0; at < len(b); at += 8 * sharedChunk {
		first := binary.LittleEndian.Uint64(b[at:])
		for k := range sharedChunk {
			r := binary.LittleEndian.Uint64(b[at+8*k:])
			w, i := int(r>>32), int(uint32(r))
			if r != first+uint64(k) || w >= sharedReaders || i >= per {
				return fmt.Sprintf("%s: record %#x at byte %d breaks its write", how, r, at+8*k)
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
	return fmt.Sprintf("%d records %s, %d exactly once", sharedRecords, how, once)
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
