package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Shape of the files test: a fixed amount of work whatever GOMAXPROCS is,
// so that its times at several vCPU counts divide into speedups.
const (
	filesWorkers = 8    // goroutines, each in a directory of its own
	filesRounds  = 1600 // file round trips at -scale 1, over all the workers
	filesNames   = 4    // names each worker cycles through
	filesSize    = 4096 // bytes written and read back per round trip
)

// runFiles is the file traffic of parallel tests (t.TempDir, testdata):
// filesWorkers goroutines, each in its own directory under a temporary
// one, make round trips of os.WriteFile (open, write, close), os.ReadFile
// (open, fstat, read, close), os.Stat and os.Remove on a 4 KiB file,
// filesRounds in all. No two workers touch the same directory, so on
// Linux nothing but the file system's shared structures serializes them;
// on gometal, since issue 18, every such call takes the files lock. It
// reports the wall time; tools/bench boots it at 1, 2 and 4 vCPUs and
// divides the times into speedups, to set against Linux's. A failed call
// prints the row as n/a with the error.
func runFiles() {
	if err := os.MkdirAll(os.TempDir(), 0o1777); err != nil { // the Linux guest's initramfs may lack /tmp
		printNA("files.time", err.Error())
		return
	}
	base, err := os.MkdirTemp("", "bench-files")
	if err != nil {
		printNA("files.time", err.Error())
		return
	}
	defer os.RemoveAll(base)
	per := max(1, n(filesRounds)/filesWorkers)
	want := bytes.Repeat([]byte("gometal!"), filesSize/8)
	errs := make([]error, filesWorkers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range filesWorkers {
		wg.Go(func() { errs[w] = fileRoundTrips(filepath.Join(base, strconv.Itoa(w)), per, want) })
	}
	wg.Wait()
	d := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		printNA("files.time", err.Error())
		return
	}
	printResult("files.time", float64(d.Microseconds())/1e3, "ms")
}

// fileRoundTrips makes dir and rounds round trips of want through files
// in it, checking what each read returns.
func fileRoundTrips(dir string, rounds int, want []byte) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for i := range rounds {
		p := filepath.Join(dir, strconv.Itoa(i%filesNames))
		if err := os.WriteFile(p, want, 0o644); err != nil {
			return err
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return errors.New(p + ": read back other bytes than were written")
		}
		if st, err := os.Stat(p); err != nil || st.Size() != int64(len(want)) {
			return errors.Join(err, errors.New(p+": stat gives the wrong size"))
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
