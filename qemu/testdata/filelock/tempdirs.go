package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometal/gometal/qemu/testdata/lockstat"
)

// tempDirRounds is how many temporary directories each of the temp-dirs
// stage's threads makes and removes.
const tempDirRounds = 64

// sharedTempDirs has sharedReaders threads each make a temporary
// directory round after round, as t.TempDir does (os.MkdirTemp), write
// two files and a subdirectory with a file into it, read one back, and
// remove it all with os.RemoveAll (unlinkat of each file and tries of
// each directory, which answer EISDIR, getdents64 of each directory, and
// rmdir: unlinkat with AT_REMOVEDIR, three a round), then check
// that the directory is gone. gometal serves the mkdirs, the creates,
// the unlinks and the rmdirs under the files lock held shared, beside
// each other, each under its directories' data locks (kernel/fs's
// Create, Unlink and Rmdir); the stage returns the files lock's holds
// over that loop. It says what it did, in counts that do not depend on
// the timing.
func sharedTempDirs(dir string) (string, lockstat.Holds) {
	before := lockstat.FilesLock()
	bad := lockstat.OnThreads(sharedReaders, func(n int) error { return tempDirWorker(dir, n) })
	holds := lockstat.FilesLock().Since(before)
	if bad != "" {
		return bad, lockstat.Holds{}
	}
	left, err := os.ReadDir(dir)
	check(err)
	for _, e := range left {
		if filepath.Ext(e.Name()) == ".tmp" {
			return fmt.Sprintf("%s left behind", e.Name()), lockstat.Holds{}
		}
	}
	return fmt.Sprintf("%d threads made and removed %d temporary directories each, with their files and subdirectories", sharedReaders, tempDirRounds), holds
}

// tempDirWorker is thread n's loop of the temp-dirs stage in dir.
func tempDirWorker(dir string, n int) error {
	want := []byte(fmt.Sprintf("thread %d", n))
	for i := range tempDirRounds {
		tmp, err := os.MkdirTemp(dir, fmt.Sprintf("t%d-*.tmp", n))
		if err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
		sub := filepath.Join(tmp, "sub")
		for _, step := range []error{
			os.WriteFile(filepath.Join(tmp, "a"), want, 0o644),
			os.WriteFile(filepath.Join(tmp, "b"), nil, 0o644),
			os.Mkdir(sub, 0o755),
			os.WriteFile(filepath.Join(sub, "c"), want, 0o644),
		} {
			if step != nil {
				return fmt.Errorf("round %d: %v", i, step)
			}
		}
		if got, err := os.ReadFile(filepath.Join(sub, "c")); err != nil || string(got) != string(want) {
			return fmt.Errorf("round %d: read back %q, %v", i, got, err)
		}
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
		if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
			return fmt.Errorf("round %d: %s after RemoveAll: %v", i, tmp, err)
		}
	}
	return nil
}
