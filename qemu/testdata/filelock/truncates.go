package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometal/gometal/qemu/testdata/lockstat"
	"golang.org/x/sys/unix"
)

// truncateRounds is how many rounds each of the truncates stage's
// threads makes: two truncations each, and every 16th an open with
// O_TRUNC.
const truncateRounds = 256

// sharedTruncates has sharedReaders threads each truncate a file of its
// own round after round and check what is left: ftruncate(2) to empty
// it, pwrite of 64 bytes, truncate(2) by path to 10 of them, a read
// that must find exactly those 10, utimensat(2) of the file's times,
// which fstat must then show, and fallocate(2) of its first page, which
// grows it to 4096 bytes, as fstat must show; every 16th round an open
// with O_TRUNC,
// a write of 20 bytes through it and a read of them (the descriptors
// stay open until the loop is over, so that no close holds the lock in
// it). gometal
// serves these truncations, time changes and allocations under the
// files lock held shared, beside each other, each under its file's data
// lock (kernel/fs's Truncate, SetTimes and Allocate);
// the stage returns the files lock's holds over that loop. It says what
// it found, in counts that do not depend on the timing.
func sharedTruncates(dir string) (string, lockstat.Holds) {
	names := make([]string, sharedReaders)
	for n := range names {
		names[n] = filepath.Join(dir, fmt.Sprintf("trunc%d", n))
		check(os.WriteFile(names[n], nil, 0o644))
	}
	opened := make([][]int, sharedReaders)
	before := lockstat.FilesLock()
	bad := lockstat.OnThreads(sharedReaders, func(n int) error { return truncateWorker(names[n], n, &opened[n]) })
	holds := lockstat.FilesLock().Since(before)
	for _, fds := range opened {
		for _, fd := range fds {
			check(unix.Close(fd))
		}
	}
	if bad != "" {
		return bad, lockstat.Holds{}
	}
	for _, name := range names {
		check(unix.Unlink(name))
	}
	return fmt.Sprintf("%d files truncated %d times each, every read back as cut, their times set %d times each, every one read back, and grown by fallocate %d times each", sharedReaders, 2*truncateRounds+truncateRounds/16, truncateRounds, truncateRounds),
		holds
}

// truncateWorker is thread n's loop of the truncates stage on name; the
// descriptors of its opens with O_TRUNC go to opened.
func truncateWorker(name string, n int, opened *[]int) error {
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	rec := bytes.Repeat([]byte{byte('a' + n)}, 64)
	got := make([]byte, 128)
	for i := range truncateRounds {
		if err := unix.Ftruncate(fd, 0); err != nil {
			return fmt.Errorf("round %d: ftruncate: %v", i, err)
		}
		if k, err := unix.Pwrite(fd, rec, 0); err != nil || k != len(rec) {
			return fmt.Errorf("round %d: pwrite: %d, %v", i, k, err)
		}
		if err := unix.Truncate(name, 10); err != nil {
			return fmt.Errorf("round %d: truncate: %v", i, err)
		}
		if k, err := unix.Pread(fd, got, 0); err != nil || !bytes.Equal(got[:k], rec[:10]) {
			return fmt.Errorf("round %d: read back %q, %v; want %q", i, got[:max(k, 0)], err, rec[:10])
		}
		mtime := unix.NsecToTimespec(int64(1_700_000_000+i)*1e9 + int64(n))
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, name, []unix.Timespec{mtime, mtime}, 0); err != nil {
			return fmt.Errorf("round %d: utimensat: %v", i, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mtim != mtime || st.Size != 10 {
			return fmt.Errorf("round %d: fstat after utimensat: mtime %v, size %d, %v; want %v", i, st.Mtim, st.Size, err, mtime)
		}
		if err := unix.Fallocate(fd, 0, 0, 4096); err != nil {
			return fmt.Errorf("round %d: fallocate: %v", i, err)
		}
		if err := unix.Fstat(fd, &st); err != nil || st.Size != 4096 {
			return fmt.Errorf("round %d: fstat after fallocate: size %d, %v; want 4096", i, st.Size, err)
		}
		if i%16 != 15 {
			continue
		}
		fd2, err := unix.Open(name, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("round %d: open with O_TRUNC: %v", i, err)
		}
		*opened = append(*opened, fd2)
		if k, err := unix.Pwrite(fd2, rec[:20], 0); err != nil || k != 20 {
			return fmt.Errorf("round %d: pwrite after O_TRUNC: %d, %v", i, k, err)
		}
		if k, err := unix.Pread(fd, got, 0); err != nil || !bytes.Equal(got[:k], rec[:20]) {
			return fmt.Errorf("round %d: read back after O_TRUNC %q, %v", i, got[:max(k, 0)], err)
		}
	}
	return nil
}
