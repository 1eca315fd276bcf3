// Command stress exercises the scheduler under SMP for a while: goroutines
// exchanging values over channels, mutexes, a sync.Cond queue, WaitGroups,
// atomics and timers, and goroutines writing, reading back, renaming and
// removing files beside them and goroutine pairs passing messages over
// pipes (the kernel serves those under its files lock while the others
// take its kernel lock; a pipe write that wakes a reader parked in the
// netpoller takes the kernel lock for the wake-up), with the garbage
// collector running throughout. Every
// round checks its result; any lost wake-up shows up as a hang (the boot
// test's timeout), any corruption as a wrong sum.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var garbage atomic.Pointer[[]byte]

func channels(workers, items int) int {
	in, out := make(chan int), make(chan int, 16)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range in {
				b := make([]byte, 64+v%512) // keep the GC busy
				garbage.Store(&b)
				out <- v * 2
			}
		}()
	}
	go func() {
		for i := 1; i <= items; i++ {
			in <- i
		}
		close(in)
	}()
	go func() { wg.Wait(); close(out) }()
	sum := 0
	for v := range out {
		sum += v
	}
	return sum
}

func mutexes(goroutines, incs int) int {
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < incs; i++ {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// condQueue passes items through a bounded queue guarded by a sync.Cond.
func condQueue(producers, items int) int {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	var q []int
	const capacity = 4
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < items; i++ {
				mu.Lock()
				for len(q) == capacity {
					cond.Wait()
				}
				q = append(q, 1)
				cond.Broadcast()
				mu.Unlock()
			}
		}()
	}
	got := 0
	for got < producers*items {
		mu.Lock()
		for len(q) == 0 {
			cond.Wait()
		}
		got += len(q)
		q = q[:0]
		cond.Broadcast()
		mu.Unlock()
	}
	wg.Wait()
	return got
}

func atomicsAndTimers(n int) int64 {
	var count atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		time.AfterFunc(time.Duration(i%5)*time.Millisecond, func() {
			count.Add(1)
			wg.Done()
		})
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%3) * time.Millisecond)
			count.Add(1)
		}()
	}
	wg.Wait()
	return count.Load()
}

// files has each of workers goroutines write a file of its own in dir,
// read it back, rename it, stat it, give it names in a directory of the
// round's own and remove that (namesRound), and remove the file, n
// times, and append a
// record to one shared O_APPEND file each time; it returns the bytes
// checked. Any short or torn read, lost rename or misplaced append is an
// error.
func files(dir string, workers, n int) (int, error) {
	shared, err := os.OpenFile(filepath.Join(dir, "shared"), os.O_CREATE|os.O_RDWR|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	defer shared.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var checked atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				k, err := fileRound(dir, shared, w, i)
				if err != nil {
					errs <- err
					return
				}
				checked.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	b, err := os.ReadFile(shared.Name())
	if err != nil {
		return 0, err
	}
	if len(b) != workers*n*8 {
		return 0, fmt.Errorf("shared file: %d bytes, want %d", len(b), workers*n*8)
	}
	for off := 0; off < len(b); off += 8 {
		if string(b[off+4:off+8]) != "rec\n" {
			return 0, fmt.Errorf("shared file: torn record %q at %d", b[off:off+8], off)
		}
	}
	return int(checked.Load()) + len(b), nil
}

// fileRound is one of files' rounds for worker w.
func fileRound(dir string, shared *os.File, w, i int) (int, error) {
	data := make([]byte, 512+(w*131+i*17)%3000)
	for j := range data {
		data[j] = byte(w + i + j)
	}
	a, b := filepath.Join(dir, fmt.Sprintf("w%d", w)), filepath.Join(dir, fmt.Sprintf("w%d.moved", w))
	if err := os.WriteFile(a, data, 0o644); err != nil {
		return 0, err
	}
	if err := os.Rename(a, b); err != nil {
		return 0, err
	}
	got, err := os.ReadFile(b)
	if err != nil {
		return 0, err
	}
	if string(got) != string(data) {
		return 0, fmt.Errorf("worker %d round %d: read back %d bytes that differ from the %d written", w, i, len(got), len(data))
	}
	if st, err := os.Stat(b); err != nil || st.Size() != int64(len(data)) {
		return 0, fmt.Errorf("worker %d round %d: stat %v, %v", w, i, st, err)
	}
	if err := namesRound(dir, b, w, i); err != nil {
		return 0, err
	}
	if err := os.Remove(b); err != nil {
		return 0, err
	}
	if _, err := shared.Write([]byte{byte(w), byte(i), byte(i >> 8), 0, 'r', 'e', 'c', '\n'}); err != nil {
		return 0, err
	}
	return len(got), nil
}

// namesRound gives file b a second name and a symbolic link to it in a
// directory of the round's own, changes b's mode and owner (to the
// owner it has), checks the mode and the owner through the link, and
// removes the directory with all in it: t.TempDir's pattern, with its
// cleanup (mkdir, link, symlink, chmod, chown, unlink, rmdir).
func namesRound(dir, b string, w, i int) error {
	tmp, err := os.MkdirTemp(dir, "t")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // after a failure too
	sym := filepath.Join(tmp, "sym")
	uid, gid := os.Getuid(), os.Getgid()
	if err := os.Link(b, filepath.Join(tmp, "hard")); err != nil {
		return fmt.Errorf("worker %d round %d: %v", w, i, err)
	}
	if err := os.Symlink(b, sym); err != nil {
		return fmt.Errorf("worker %d round %d: %v", w, i, err)
	}
	if err := os.Chmod(b, 0o600); err != nil {
		return fmt.Errorf("worker %d round %d: %v", w, i, err)
	}
	if err := os.Chown(b, uid, gid); err != nil {
		return fmt.Errorf("worker %d round %d: %v", w, i, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(sym, &st); err != nil || st.Mode&0o7777 != 0o600 || int(st.Uid) != uid || int(st.Gid) != gid {
		return fmt.Errorf("worker %d round %d: through the link: mode %o, owner %d:%d, %v", w, i, st.Mode, st.Uid, st.Gid, err)
	}
	return os.RemoveAll(tmp)
}

// pipes runs pairs goroutine pairs, each sending msgs messages over an
// os.Pipe (a non-blocking descriptor the runtime's netpoller waits on)
// and getting each back, changed, over a second one, and returns the sum
// of what came back.
func pipes(pairs, msgs int) (int, error) {
	sums := make(chan int, pairs)
	errs := make(chan error, pairs)
	for p := 0; p < pairs; p++ {
		go func() {
			sum, err := pipePair(p, msgs)
			sums <- sum
			errs <- err
		}()
	}
	total := 0
	var first error
	for p := 0; p < pairs; p++ {
		total += <-sums
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return total, first
}

// pipePair is one pair of pipes' round trips: an echo goroutine adds one
// to each byte it reads.
func pipePair(p, msgs int) (int, error) {
	pingR, pingW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pongR.Close()
	go func() {
		defer pongW.Close()
		b := make([]byte, 64)
		for {
			n, err := pingR.Read(b)
			if err != nil {
				pingR.Close()
				return
			}
			for i := range b[:n] {
				b[i]++
			}
			if _, err := pongW.Write(b[:n]); err != nil {
				return
			}
		}
	}()
	sum := 0
	b := make([]byte, 64)
	for i := 0; i < msgs; i++ {
		m := b[:1+(i+p)%len(b)]
		for k := range m {
			m[k] = byte(i)
		}
		if _, err := pingW.Write(m); err != nil {
			pingW.Close()
			return 0, err
		}
		for got := 0; got < len(m); {
			n, err := pongR.Read(b[got:len(m)])
			if err != nil {
				pingW.Close()
				return 0, err
			}
			got += n
		}
		for _, c := range m {
			sum += int(c)
		}
	}
	return sum, pingW.Close()
}

// pipeSum is what pipes(pairs, msgs) returns when every message came back
// whole: message i of pair p is 1+(i+p)%64 bytes of value i+1 (mod 256).
func pipeSum(pairs, msgs int) int {
	sum := 0
	for p := 0; p < pairs; p++ {
		for i := 0; i < msgs; i++ {
			sum += (1 + (i+p)%64) * int(byte(i+1))
		}
	}
	return sum
}

func main() {
	d := flag.Duration("d", 2*time.Second, "how long to run")
	flag.Parse()
	dir, err := os.MkdirTemp("", "stress-")
	if err != nil {
		fmt.Println("stress: FAIL:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	deadline := time.Now().Add(*d)
	rounds := 0
	fail := func(what string, got, want any) {
		fmt.Printf("stress: FAIL in round %d: %s = %v, want %v\n", rounds, what, got, want)
		os.Exit(1)
	}
	for rounds == 0 || time.Now().Before(deadline) {
		fileErr := make(chan error, 1)
		go func() { // beside the other stages, on other CPUs
			_, err := files(dir, 4, 8)
			fileErr <- err
		}()
		pipeSums, pipeErr := make(chan int, 1), make(chan error, 1)
		go func() { // likewise
			sum, err := pipes(2, 100)
			pipeSums <- sum
			pipeErr <- err
		}()
		if s := channels(8, 2000); s != 2000*2001 {
			fail("channel sum", s, 2000*2001)
		}
		if n := mutexes(16, 500); n != 8000 {
			fail("mutex count", n, 8000)
		}
		if n := condQueue(6, 300); n != 1800 {
			fail("cond items", n, 1800)
		}
		if n := atomicsAndTimers(200); n != 400 {
			fail("atomic count", n, 400)
		}
		if err := <-fileErr; err != nil {
			fail("file error", err, nil)
		}
		if sum, err := <-pipeSums, <-pipeErr; err != nil || sum != pipeSum(2, 100) {
			fail("pipe sum, error", fmt.Sprint(sum, ", ", err), fmt.Sprint(pipeSum(2, 100), ", <nil>"))
		}
		if rounds%4 == 0 {
			runtime.GC()
		}
		rounds++
	}
	fmt.Fprintf(os.Stderr, "stress: %d rounds on %d CPUs\n", rounds, runtime.NumCPU())
	fmt.Println("stress: ok")
}
