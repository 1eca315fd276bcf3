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

// The shared-names stage: nameRounds rounds by each of sharedReaders
// threads, contending for commonNames names of one directory.
const (
	nameRounds  = 256
	commonNames = 4
)

// nameTally is what one thread of the shared-names stage found.
type nameTally struct {
	own, common, lost, openGone, dirs int
}

// sharedNames has sharedReaders threads each make, read back and remove
// a file in a directory of their own, round after round (openat with
// O_CREAT|O_EXCL, unlinkat), and contend for commonNames names of one
// common directory with O_EXCL: a create that wins owns the name until
// it removes it, so opening the name again must find the winner's own
// bytes, and a create that loses must answer EEXIST. Every 16th round a
// thread also truncates a file as it opens it (O_TRUNC), removes it
// while it holds it open and reads it through the descriptor (an
// unlinked file lives until its last close, with no link left: fstat),
// and makes a directory in the common one, which counts a link for
// each (the directories go once all threads are done). gometal serves these creates and unlinks beside each
// other under the files lock held shared, and the mkdirs too, each
// directory changing under its own data lock (kernel/filetrap.go,
// kernel/fs); a create that
// claimed another's inode, or a lookup that read a directory while it
// changed, would show another thread's bytes or a wrong answer. It says
// what it found, in counts that do not depend on the timing, and
// whether the directories ended empty, and the common directory's link
// count before its directories went.
func sharedNames(dir string) (string, uint64) {
	common := filepath.Join(dir, "names")
	check(os.Mkdir(common, 0o755))
	var wg sync.WaitGroup
	bad := make(chan string, sharedReaders)
	tallies := make([]nameTally, sharedReaders)
	for n := range sharedReaders {
		own := filepath.Join(dir, fmt.Sprintf("names%d", n))
		check(os.Mkdir(own, 0o755))
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			if err := nameWorker(own, common, n, &tallies[n]); err != nil {
				bad <- fmt.Sprintf("thread %d: %v", n, err)
			}
		}()
	}
	wg.Wait()
	close(bad)
	for s := range bad {
		return s, 0
	}
	var sum nameTally
	for _, t := range tallies {
		sum.own += t.own
		sum.common += t.common + t.lost
		sum.openGone += t.openGone
		sum.dirs += t.dirs
	}
	var st unix.Stat_t
	check(unix.Stat(common, &st))
	links := uint64(st.Nlink) // Linux's file systems but btrfs: 2, and one per directory in it
	for n := range sharedReaders {
		for i := 15; i < nameRounds; i += 16 {
			check(unix.Rmdir(filepath.Join(common, fmt.Sprintf("d%d-%d", n, i))))
		}
	}
	empty := true
	for n := range sharedReaders {
		empty = empty && emptyDir(filepath.Join(dir, fmt.Sprintf("names%d", n)))
	}
	return fmt.Sprintf("%d own files read back, %d creates of common names each won with the winner's bytes or lost with EEXIST, %d files truncated by their open and read after their unlink, %d directories made side by side, directories empty: %v",
		sum.own, sum.common, sum.openGone, sum.dirs, empty && emptyDir(common)), links
}

// nameWorker is thread n's part of the shared-names stage.
func nameWorker(own, common string, n int, t *nameTally) error {
	for i := range nameRounds {
		tag := nameTag(n, i)
		mine := filepath.Join(own, fmt.Sprintf("f%d", i%4))
		if err := createExcl(mine, tag); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		if err := readBack(mine, tag); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		if err := unix.Unlink(mine); err != nil {
			return fmt.Errorf("round %d: unlink: %v", i, err)
		}
		t.own++
		won, err := contend(filepath.Join(common, fmt.Sprintf("n%d", i%commonNames)), tag)
		if err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		if won {
			t.common++
		} else {
			t.lost++
		}
		if i%16 == 15 {
			if err := openGone(filepath.Join(own, "gone"), tag); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
			t.openGone++
			d := filepath.Join(common, fmt.Sprintf("d%d-%d", n, i))
			if err := unix.Mkdir(d, 0o755); err != nil {
				return fmt.Errorf("round %d: mkdir: %v", i, err)
			}
			var st unix.Stat_t
			if err := unix.Stat(d, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return fmt.Errorf("round %d: stat of the new directory: mode %o, %v", i, st.Mode, err)
			}
			t.dirs++
		}
	}
	return nil
}

// nameTag is thread n's 8 bytes for round i.
func nameTag(n, i int) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, uint32(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(i))
	return b
}

// createExcl makes name with O_EXCL and writes tag into it.
func createExcl(name string, tag []byte) error {
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %v", name, err)
	}
	if k, err := unix.Write(fd, tag); err != nil || k != len(tag) {
		unix.Close(fd)
		return fmt.Errorf("write %s: %d, %v", name, k, err)
	}
	return unix.Close(fd)
}

// readBack opens name and checks that it holds tag.
func readBack(name string, tag []byte) error {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %v", name, err)
	}
	defer unix.Close(fd)
	got := make([]byte, 16)
	k, err := unix.Pread(fd, got, 0)
	if err != nil || string(got[:k]) != string(tag) {
		return fmt.Errorf("%s holds %x, %v; want %x", name, got[:max(k, 0)], err, tag)
	}
	return nil
}

// contend tries to make name with O_EXCL; if it wins, it writes tag,
// reads it back through the name and removes the name.
func contend(name string, tag []byte) (bool, error) {
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err == unix.EEXIST {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %v", name, err)
	}
	defer unix.Close(fd)
	if k, err := unix.Pwrite(fd, tag, 0); err != nil || k != len(tag) {
		return false, fmt.Errorf("pwrite %s: %d, %v", name, k, err)
	}
	if err := readBack(name, tag); err != nil {
		return false, fmt.Errorf("the name's owner: %w", err)
	}
	if err := unix.Unlink(name); err != nil {
		return false, fmt.Errorf("unlink %s: %v", name, err)
	}
	return true, nil
}

// openGone makes name with 64 bytes, opens it again with O_TRUNC (an
// open that must truncate, which gometal runs alone), removes it while
// open, and checks that the descriptor still reads and writes it and
// that fstat shows no link and the tag's size (the truncation happened).
func openGone(name string, tag []byte) error {
	if err := os.WriteFile(name, make([]byte, 64), 0o644); err != nil {
		return err
	}
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_RDWR|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s with O_TRUNC: %v", name, err)
	}
	defer unix.Close(fd)
	if err := unix.Unlink(name); err != nil {
		return fmt.Errorf("unlink %s: %v", name, err)
	}
	if k, err := unix.Pwrite(fd, tag, 0); err != nil || k != len(tag) {
		return fmt.Errorf("pwrite after unlink: %d, %v", k, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Nlink != 0 || st.Size != int64(len(tag)) {
		return fmt.Errorf("fstat after unlink: nlink %d, size %d, %v", st.Nlink, st.Size, err)
	}
	got := make([]byte, 16)
	if k, err := unix.Pread(fd, got, 0); err != nil || string(got[:k]) != string(tag) {
		return fmt.Errorf("pread after unlink: %x, %v", got[:max(k, 0)], err)
	}
	if err := unix.Access(name, unix.F_OK); err != unix.ENOENT {
		return fmt.Errorf("access after unlink: %v, want ENOENT", err)
	}
	return nil
}

// emptyDir reports whether dir lists no entry (getdents64).
func emptyDir(dir string) bool {
	names, err := os.ReadDir(dir)
	return err == nil && len(names) == 0
}
