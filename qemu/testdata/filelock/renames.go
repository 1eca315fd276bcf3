package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometal/gometal/qemu/testdata/lockstat"
	"golang.org/x/sys/unix"
)

// The renames stage: renameRounds rounds of 3 renames by each of
// sharedReaders threads, then replaceRounds replaces each.
const (
	renameRounds  = 256
	replaceRounds = 16
)

// sharedRenames has sharedReaders threads each move a file of its own
// round after round: from a directory of its own into a common one,
// to another name there, and back (renameat: across two directories,
// within one, across again), checking its bytes through the name every
// 16 rounds.
// gometal serves these renames beside each other under the files lock
// held shared, each under both directories' data locks (kernel/fs's
// Rename); the stage returns the files lock's holds over that loop.
// Then each thread replaces one common name replaceRounds times with a
// file it just made (the write-then-rename pattern of an atomic
// update: the replaced file's last link goes) and reads the name back,
// which must hold one thread's whole record. It says what it found, in
// counts that do not depend on the timing, whether every directory
// ended empty, and the files lock's holds.
func sharedRenames(dir string) (string, lockstat.Holds) {
	common := filepath.Join(dir, "moves")
	check(os.Mkdir(common, 0o755))
	own := make([]string, sharedReaders)
	for n := range own {
		own[n] = filepath.Join(dir, fmt.Sprintf("moves%d", n))
		check(os.Mkdir(own[n], 0o755))
		check(createExcl(filepath.Join(own[n], "f"), nameTag(n, 0)))
	}
	before := lockstat.FilesLock()
	bad := lockstat.OnThreads(sharedReaders, func(n int) error { return moveWorker(own[n], common, n) })
	holds := lockstat.FilesLock().Since(before)
	if bad != "" {
		return bad, lockstat.Holds{}
	}
	replaced := filepath.Join(common, "replaced")
	if bad := lockstat.OnThreads(sharedReaders, func(n int) error { return replaceWorker(own[n], replaced, n) }); bad != "" {
		return bad, lockstat.Holds{}
	}
	check(unix.Unlink(replaced))
	empty := emptyDir(common)
	for n := range own {
		check(unix.Unlink(filepath.Join(own[n], "f")))
		empty = empty && emptyDir(own[n])
		check(unix.Rmdir(own[n]))
	}
	check(unix.Rmdir(common))
	return fmt.Sprintf("%d files moved %d times each and read back, %d replaces of one common name each read back whole, directories empty: %v",
		sharedReaders, 3*renameRounds, sharedReaders*replaceRounds, empty), holds
}

// moveWorker is thread n's loop of the renames stage: its file f in own
// goes to common as a<n>, then b<n>, then back into own; the threads'
// rounds interleave, so that files move into common and out of it at
// once.
func moveWorker(own, common string, n int) error {
	f := filepath.Join(own, "f")
	a, b := filepath.Join(common, fmt.Sprintf("a%d", n)), filepath.Join(common, fmt.Sprintf("b%d", n))
	steps := [][2]string{{f, a}, {a, b}, {b, f}}
	for i := range renameRounds {
		for _, s := range steps {
			if err := unix.Rename(s[0], s[1]); err != nil {
				return fmt.Errorf("round %d: rename %s to %s: %v", i, s[0], s[1], err)
			}
		}
		if i%16 == 15 {
			if err := readBack(f, nameTag(n, 0)); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
		}
	}
	return nil
}

// replaceWorker is thread n's part of the renames stage's replaces: it
// makes a file in own with its record of the round and renames it over
// name, then reads name, which must hold a whole record of some thread's.
func replaceWorker(own, name string, n int) error {
	tmp := filepath.Join(own, "new")
	got := make([]byte, 16)
	for i := range replaceRounds {
		if err := createExcl(tmp, nameTag(n, i)); err != nil {
			return fmt.Errorf("replace %d: %w", i, err)
		}
		if err := unix.Rename(tmp, name); err != nil {
			return fmt.Errorf("replace %d: rename %s over %s: %v", i, tmp, name, err)
		}
		fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("replace %d: open %s: %v", i, name, err)
		}
		k, err := unix.Pread(fd, got, 0)
		unix.Close(fd)
		if err != nil || k != 8 || binary.LittleEndian.Uint32(got) >= sharedReaders || binary.LittleEndian.Uint32(got[4:]) >= replaceRounds {
			return fmt.Errorf("replace %d: %s holds %x, %v: no thread's whole record", i, name, got[:max(k, 0)], err)
		}
	}
	return nil
}
