// Command filelock runs file I/O on several CPUs at once while other
// goroutines hand work over a mutex and a channel, for
// qemu/filelock_test.go: the kernel serves calls on a file's descriptor
// under the files lock alone and the futex calls under the kernel lock
// alone (kernel/filetrap.go), so both go on in parallel and the file
// layer must stay whole.
//
// Each of 4 threads (goroutines locked to their threads) owns a file in
// /tmp that it writes and reads back with pwrite and pread, 64-byte
// records at rotating offsets, checking every read; every 16 rounds it
// checks the size with lseek and fstat, closes and opens the file again,
// lists /tmp with getdents64, and makes, renames, stats and removes a
// directory and a symbolic link beside its file. All 4 also append 16-byte records to
// one shared file opened with O_APPEND: each append must land whole, at
// its own place. The program then prints a digest of the files and the
// futex side's total, what F_GETFL shows of descriptors of several
// kinds (statusFlags), what some thirty calls answer on an O_PATH
// descriptor of a file and of a directory (pathOnlyCalls), then runs a pipe stage (pipeWork: round trips and
// a bulk stream over os.Pipe, whose non-blocking reads and writes the
// kernel serves under the files lock held shared) and prints what came
// through, has several threads make, use and close pipes at once
// (pipePairs: pipe2 and the closes held shared too) and prints what each
// saw, has several threads add to one eventfd while one reads it
// (eventfdWork) and prints the total the reads took, reads one file through one descriptor from several threads
// at once (sharedReads), writes through one descriptor and with pwrite
// into one file from several threads at once (sharedWrites), and opens,
// reads and closes files from several threads at once (sharedOpens),
// and makes and removes files in directories of their own and of one
// common one from several threads at once (sharedNames), and moves files
// between directories and replaces one name with new files from several
// threads at once (sharedRenames), and truncates files of their own
// from several threads at once (sharedTruncates), and makes, fills and
// removes temporary directories as t.TempDir does from several threads
// at once (sharedTempDirs), and says what mknod, mkdir, symlink and
// chown answer for nodes of several kinds (nodeAnswers); the host run of
// the same program must match all of it byte for byte. In the guest it
// then prints /proc/gometal/sched between marker lines, for the test to
// read the lock counts, the file system's free inodes before and
// after the shared-names stage and the renames stage, and the files
// lock's acquisitions during the pipe and pipe pairs stages and the
// renames, truncates and temp-dirs stages' loops, and over an empty
// stage (the measure's own acquisitions).
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/gometal/gometal/qemu/testdata/lockstat"
	"golang.org/x/sys/unix"
)

const (
	threads = 4
	rounds  = 1500
	record  = 64
	slots   = 64
	appendN = 16
)

func main() {
	dir, err := os.MkdirTemp("", "filelock-")
	check(err)
	defer os.RemoveAll(dir)
	shared, err := unix.Open(filepath.Join(dir, "shared"), unix.O_CREAT|unix.O_RDWR|unix.O_APPEND, 0o644)
	check(err)

	var wg sync.WaitGroup
	errs := make(chan error, threads)
	for n := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			if err := fileWorker(dir, n, shared); err != nil {
				errs <- fmt.Errorf("thread %d: %w", n, err)
			}
		}()
	}
	total := futexWork()
	wg.Wait()
	close(errs)
	for err := range errs {
		check(err)
	}
	check(unix.Close(shared))
	fmt.Printf("filelock: %d threads, %d rounds, digest %x\n", threads, rounds, digest(dir))
	fmt.Printf("filelock: futex side total %d\n", total)
	fmt.Printf("filelock: status flags: %s\n", statusFlags())
	fmt.Printf("filelock: O_PATH: %s\n", pathOnlyCalls())
	emptyStart := lockstat.FilesLock() // the measure's own holds: a stage that does nothing
	emptyHolds := lockstat.FilesLock().Since(emptyStart)
	pipeStart := lockstat.FilesLock()
	pipes := pipeWork()
	pipeHolds := lockstat.FilesLock().Since(pipeStart)
	fmt.Printf("filelock: pipes: %s\n", pipes)
	pairsStart := lockstat.FilesLock()
	pairs := pipePairs()
	pairHolds := lockstat.FilesLock().Since(pairsStart)
	fmt.Printf("filelock: pipe pairs: %s\n", pairs)
	fmt.Printf("filelock: eventfd: %s\n", eventfdWork())
	fmt.Printf("filelock: shared reads: %s\n", sharedReads(dir))
	fmt.Printf("filelock: shared writes: %s\n", sharedWrites(dir))
	fmt.Printf("filelock: shared opens: %s\n", sharedOpens(dir))
	var before, after unix.Statfs_t
	check(unix.Statfs(dir, &before))
	names, links := sharedNames(dir)
	fmt.Printf("filelock: shared names: %s\n", names)
	check(unix.Statfs(dir, &after))
	var renamesBefore, renamesAfter unix.Statfs_t
	check(unix.Statfs(dir, &renamesBefore))
	renames, renameHolds := sharedRenames(dir)
	fmt.Printf("filelock: shared renames: %s\n", renames)
	check(unix.Statfs(dir, &renamesAfter))
	truncates, truncateHolds := sharedTruncates(dir)
	fmt.Printf("filelock: shared truncates: %s\n", truncates)
	tempDirs, tempDirHolds := sharedTempDirs(dir)
	fmt.Printf("filelock: shared temp dirs: %s\n", tempDirs)
	fmt.Printf("filelock: nodes: %s\n", nodeAnswers(dir))
	if b, err := os.ReadFile("/proc/gometal/sched"); err == nil {
		fmt.Printf("filelock: sched\n%sfilelock: end\n", b)
		fmt.Printf("filelock: free inodes %d %d\n", before.Ffree, after.Ffree)
		fmt.Printf("filelock: names links %d\n", links)
		fmt.Printf("filelock: empty stage: files lock exclusive %d shared %d\n", emptyHolds.Exclusive, emptyHolds.Shared)
		fmt.Printf("filelock: pipe stage: files lock exclusive %d shared %d\n", pipeHolds.Exclusive, pipeHolds.Shared)
		fmt.Printf("filelock: pipe pairs stage: files lock exclusive %d shared %d\n", pairHolds.Exclusive, pairHolds.Shared)
		fmt.Printf("filelock: renames stage: files lock exclusive %d shared %d\n", renameHolds.Exclusive, renameHolds.Shared)
		fmt.Printf("filelock: renames free inodes %d %d\n", renamesBefore.Ffree, renamesAfter.Ffree)
		fmt.Printf("filelock: truncates stage: files lock exclusive %d shared %d\n", truncateHolds.Exclusive, truncateHolds.Shared)
		fmt.Printf("filelock: temp dirs stage: files lock exclusive %d shared %d\n", tempDirHolds.Exclusive, tempDirHolds.Shared)
		fmt.Printf("filelock: temp dirs stage: closes beside %d\n", tempDirHolds.ClosesBeside)
		freeBefore, freeAfter := unlinkAlone(dir)
		fmt.Printf("filelock: unlink alone: free inodes %d %d\n", freeBefore, freeAfter)
	}
}

// statusFlags opens a file, a directory, /dev/null, a path (O_PATH), a
// FIFO, a file under /proc and a pipe's two ends and describes what F_GETFL shows of each:
// Linux keeps an open's status flags, adds O_LARGEFILE (a 64-bit
// kernel's every open but O_PATH's) and drops the open-only flags
// (O_CREAT, O_EXCL, O_TRUNC, O_CLOEXEC); a pipe shows its access mode
// and O_NONBLOCK.
func statusFlags() string {
	dir, err := os.MkdirTemp("", "flags-")
	check(err)
	defer os.RemoveAll(dir)
	name, fifo := filepath.Join(dir, "f"), filepath.Join(dir, "fifo")
	check(unix.Mkfifo(fifo, 0o644))
	var out []string
	show := func(what, path string, flags int) {
		fd, err := unix.Open(path, flags, 0o644)
		check(err)
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		check(err)
		check(unix.Close(fd))
		out = append(out, fmt.Sprintf("%s %#x", what, fl))
	}
	show("new", name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_TRUNC|unix.O_APPEND|unix.O_CLOEXEC)
	show("read", name, unix.O_RDONLY|unix.O_NOFOLLOW)
	show("dir", dir, unix.O_RDONLY|unix.O_DIRECTORY)
	show("null", "/dev/null", unix.O_WRONLY|unix.O_NONBLOCK)
	show("path", name, unix.O_PATH)
	show("fifo", fifo, unix.O_RDONLY|unix.O_NONBLOCK)
	show("proc", "/proc/self/status", unix.O_RDONLY)
	// F_SETFL keeps O_NOATIME on a file's, directory's or device's
	// description and O_DIRECT on a regular file's; O_DIRECT on a
	// directory, a device, a FIFO or a file under /proc is EINVAL, at the
	// open and at F_SETFL; O_PATH drops O_TMPFILE. __O_TMPFILE needs O_DIRECTORY, no O_CREAT
	// and write access (EINVAL).
	setfl := func(what, path string, flags, set int) {
		fd, err := unix.Open(path, flags, 0)
		check(err)
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, set)
		fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		check(unix.Close(fd))
		out = append(out, fmt.Sprintf("%s %v %#x", what, err, fl))
	}
	setfl("setfl-file", name, unix.O_RDWR, unix.O_NOATIME|unix.O_DIRECT)
	setfl("setfl-dir-direct", dir, unix.O_RDONLY, unix.O_DIRECT)
	setfl("setfl-dir-noatime", dir, unix.O_RDONLY, unix.O_NOATIME)
	setfl("setfl-null-direct", "/dev/null", unix.O_RDONLY, unix.O_DIRECT)
	for _, c := range []struct {
		what, path string
		flags      int
	}{
		{"open-dir-direct", dir, unix.O_RDONLY | unix.O_DIRECT},
		{"open-null-direct", "/dev/null", unix.O_RDONLY | unix.O_DIRECT},
		{"tmpfile-no-directory", dir, unix.O_RDWR | unix.O_TMPFILE&^unix.O_DIRECTORY},
		{"tmpfile-read-only", dir, unix.O_RDONLY | unix.O_TMPFILE},
		{"tmpfile-creat", dir, unix.O_RDWR | unix.O_CREAT | unix.O_TMPFILE},
		{"tmpfile-path", dir, unix.O_PATH | unix.O_TMPFILE},
		{"fifo-direct", fifo, unix.O_RDONLY | unix.O_NONBLOCK | unix.O_DIRECT},
		{"proc-direct", "/proc/self/status", unix.O_RDONLY | unix.O_DIRECT},
	} {
		fd, err := unix.Open(c.path, c.flags, 0o600)
		if err == nil {
			check(unix.Close(fd))
		}
		out = append(out, fmt.Sprintf("%s %v", c.what, err))
	}
	var p [2]int
	check(unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC))
	for i, end := range []string{"pipe-r", "pipe-w"} {
		fl, err := unix.FcntlInt(uintptr(p[i]), unix.F_GETFL, 0)
		check(err)
		check(unix.Close(p[i]))
		out = append(out, fmt.Sprintf("%s %#x", end, fl))
	}
	return fmt.Sprint(out)
}

// Pipe stage sizes: round trips of small messages, then a bulk stream
// in chunks of varying size, far more than a pipe holds.
const (
	pingPongs = 1000
	bulkBytes = 1 << 20
)

// pipeWork runs the pipe stage and describes what came through: an echo
// goroutine answers pingPongs messages over a pair of os.Pipe pipes
// (non-blocking descriptors that the runtime's netpoller waits on, so
// each side parks in epoll_pwait and the other's write wakes it), then a
// writer goroutine streams bulkBytes through a third pipe to a reader
// that hashes them, the writer waiting for room again and again.
func pipeWork() string {
	pingR, pingW, err := os.Pipe()
	check(err)
	pongR, pongW, err := os.Pipe()
	check(err)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := pingR.Read(buf)
			if err != nil {
				pongW.Close()
				return
			}
			for i := range buf[:n] {
				buf[i] ^= 0x5a
			}
			_, err = pongW.Write(buf[:n])
			check(err)
		}
	}()
	sum := uint64(0)
	msg := make([]byte, 200)
	reply := make([]byte, 200)
	for i := range pingPongs {
		m := msg[:1+i%len(msg)]
		for k := range m {
			m[k] = byte(i + k)
		}
		_, err := pingW.Write(m)
		check(err)
		got := 0
		for got < len(m) {
			n, err := pongR.Read(reply[got:len(m)])
			check(err)
			got += n
		}
		for k := range m {
			if reply[k] != m[k]^0x5a {
				check(fmt.Errorf("round trip %d: byte %d is %#x, want %#x", i, k, reply[k], m[k]^0x5a))
			}
			sum += uint64(reply[k])
		}
	}
	check(pingW.Close())
	check(pingR.Close())
	check(pongR.Close())

	r, w, err := os.Pipe()
	check(err)
	go func() {
		chunk := make([]byte, 48<<10)
		for sent, i := 0, 0; sent < bulkBytes; i++ {
			n := min(1+(i*7919)%len(chunk), bulkBytes-sent)
			for k := range chunk[:n] {
				chunk[k] = byte((sent + k) * 31)
			}
			_, err := w.Write(chunk[:n])
			check(err)
			sent += n
		}
		check(w.Close())
	}()
	h := sha256.New()
	buf := make([]byte, 20000)
	total := 0
	for {
		n, err := r.Read(buf)
		h.Write(buf[:n])
		total += n
		if err != nil {
			break
		}
	}
	check(r.Close())
	return fmt.Sprintf("%d round trips, sum %d; %d bytes streamed, sha256 %x", pingPongs, sum, total, h.Sum(nil))
}

// pairThreads and pairRounds size the pipe pairs stage.
const pairThreads, pairRounds = 4, 64

// pipePairs runs the pipe pairs stage: pairThreads threads each make
// pairRounds pipes (os.Pipe, pipe2) and use each once, as a program that
// captures a stream or hands a child's output over would: a message
// through it, then, by turns, the write end closed first (the reader
// reads the message, then the end of file) or the read end closed first
// (the write then fails with EPIPE), and the other end closed. It
// describes what each thread saw.
func pipePairs() string {
	var wg sync.WaitGroup
	seen := make([]string, pairThreads)
	for n := range pairThreads {
		wg.Go(func() {
			runtime.LockOSThread()
			eofs, epipes, bytes := 0, 0, 0
			buf := make([]byte, 64)
			for k := range pairRounds {
				r, w, err := os.Pipe()
				check(err)
				msg := fmt.Sprintf("thread %d pipe %d", n, k)
				_, err = w.Write([]byte(msg))
				check(err)
				if k%2 == 0 {
					check(w.Close())
					got, err := io.ReadAll(r)
					check(err)
					if string(got) != msg {
						check(fmt.Errorf("thread %d pipe %d: read %q", n, k, got))
					}
					bytes += len(got)
					eofs++
					check(r.Close())
					continue
				}
				got, err := r.Read(buf)
				check(err)
				bytes += got
				check(r.Close())
				if _, err := w.Write([]byte(msg)); errors.Is(err, syscall.EPIPE) {
					epipes++
				} else {
					check(fmt.Errorf("thread %d pipe %d: write after the read end's close: %v", n, k, err))
				}
				check(w.Close())
			}
			seen[n] = fmt.Sprintf("thread %d: %d bytes, %d ends of file, %d EPIPE", n, bytes, eofs, epipes)
		})
	}
	wg.Wait()
	return strings.Join(seen, "; ")
}

// eventfdWriters and eventfdWrites size the eventfd stage.
const eventfdWriters, eventfdWrites = 4, 1000

// eventfdWork has eventfdWriters threads add to one non-blocking eventfd
// at once, writer w eventfdWrites times the value w+1, while this one
// reads it, and says what the reads took in all: every count whole and
// once, however the reads and writes met (the kernel serves them under
// the files lock held shared, beside each other).
func eventfdWork() string {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	check(err)
	var wg sync.WaitGroup
	for w := range eventfdWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			var v [8]byte
			binary.LittleEndian.PutUint64(v[:], uint64(w+1))
			for range eventfdWrites {
				_, err := unix.Write(efd, v[:])
				check(err)
			}
		}()
	}
	want := uint64(eventfdWrites * eventfdWriters * (eventfdWriters + 1) / 2)
	total := uint64(0)
	var v [8]byte
	for total < want {
		n, err := unix.Read(efd, v[:])
		if err == unix.EAGAIN {
			runtime.Gosched()
			continue
		}
		check(err)
		if n != 8 {
			check(fmt.Errorf("eventfd read of %d bytes", n))
		}
		total += binary.LittleEndian.Uint64(v[:])
	}
	wg.Wait()
	_, err = unix.Read(efd, v[:])
	check(unix.Close(efd))
	return fmt.Sprintf("%d writes counted %d, then %v; semaphore: %s", eventfdWriters*eventfdWrites, total, err, semaphoreReads())
}

// semaphoreReads reads an EFD_SEMAPHORE eventfd that counts 3 until it
// answers EAGAIN, adds 2 and reads once more, and says what each read
// took: 1 at a time, as Linux's.
func semaphoreReads() string {
	efd, err := unix.Eventfd(3, unix.EFD_SEMAPHORE|unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	check(err)
	var got []uint64
	var v [8]byte
	for {
		if _, err = unix.Read(efd, v[:]); err != nil {
			break
		}
		got = append(got, binary.LittleEndian.Uint64(v[:]))
	}
	binary.LittleEndian.PutUint64(v[:], 2)
	_, err2 := unix.Write(efd, v[:])
	check(err2)
	_, err2 = unix.Read(efd, v[:])
	check(err2)
	got = append(got, binary.LittleEndian.Uint64(v[:]))
	check(unix.Close(efd))
	return fmt.Sprintf("%v, then %v", got, err)
}

// fileWorker is thread n's part.
func fileWorker(dir string, n, shared int) error {
	name := filepath.Join(dir, fmt.Sprintf("file%d", n))
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	var rec, back [record]byte
	for i := range rounds {
		fill(rec[:], n, i)
		off := int64(i%slots) * record
		if k, err := unix.Pwrite(fd, rec[:], off); err != nil || k != record {
			return fmt.Errorf("pwrite round %d: %d, %v", i, k, err)
		}
		if k, err := unix.Pread(fd, back[:], off); err != nil || k != record || back != rec {
			return fmt.Errorf("pread round %d: %d, %v, read back %q", i, k, err, back[:k])
		}
		var a [appendN]byte
		binary.LittleEndian.PutUint32(a[:], uint32(n))
		binary.LittleEndian.PutUint32(a[4:], uint32(i))
		copy(a[8:], "appended")
		if k, err := unix.Write(shared, a[:]); err != nil || k != appendN {
			return fmt.Errorf("append round %d: %d, %v", i, k, err)
		}
		if i%16 == 15 {
			if fd, err = reopen(fd, name, int64(min(i+1, slots))*record); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
			if err := listed(dir, filepath.Base(name)); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
			if err := pathCalls(name, i); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
		}
	}
	return unix.Close(fd)
}

// fill makes thread n's record of round i.
func fill(b []byte, n, i int) {
	for j := range b {
		b[j] = byte('a' + (n*7+i*3+j)%26)
	}
	binary.LittleEndian.PutUint32(b, uint32(i))
}

// reopen checks the file's size with lseek and fstat, then closes it and
// opens it again.
func reopen(fd int, name string, size int64) (int, error) {
	end, err := unix.Seek(fd, 0, unix.SEEK_END)
	if err != nil || end != size {
		return -1, fmt.Errorf("lseek to the end: %d, %v, want %d", end, err, size)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Size != size {
		return -1, fmt.Errorf("fstat: size %d, %v, want %d", st.Size, err, size)
	}
	if err := unix.Close(fd); err != nil {
		return -1, err
	}
	return unix.Open(name, unix.O_RDWR, 0)
}

// pathCalls makes a directory beside name, renames it, stats it, links
// to it and reads the link back, then removes both (mkdirat, renameat,
// newfstatat, symlinkat, readlinkat, unlinkat), and stats name itself.
func pathCalls(name string, i int) error {
	a, b, l := name+".d", name+".e", name+".l"
	if err := unix.Mkdir(a, 0o755); err != nil {
		return fmt.Errorf("mkdir: %v", err)
	}
	if err := unix.Rename(a, b); err != nil {
		return fmt.Errorf("rename: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(b, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("stat of the renamed directory: mode %o, %v", st.Mode, err)
	}
	if err := unix.Stat(a, &st); err != unix.ENOENT {
		return fmt.Errorf("stat of the old name: %v, want ENOENT", err)
	}
	if err := unix.Symlink(fmt.Sprintf("target-%d", i), l); err != nil {
		return fmt.Errorf("symlink: %v", err)
	}
	buf := make([]byte, 64)
	k, err := unix.Readlink(l, buf)
	if err != nil || string(buf[:k]) != fmt.Sprintf("target-%d", i) {
		return fmt.Errorf("readlink: %q, %v", buf[:max(k, 0)], err)
	}
	if err := unix.Unlink(l); err != nil {
		return fmt.Errorf("unlink: %v", err)
	}
	if err := unix.Rmdir(b); err != nil {
		return fmt.Errorf("rmdir: %v", err)
	}
	if err := unix.Stat(name, &st); err != nil || st.Size != int64(min(i+1, slots))*record {
		return fmt.Errorf("stat: size %d, %v", st.Size, err)
	}
	return nil
}

// listed checks that dir lists name (getdents64, called until it
// answers 0: a file system may hand a listing out in several batches,
// as the host's did under load).
func listed(dir, name string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	var names []string
	for {
		k, err := unix.Getdents(fd, buf)
		if err != nil {
			return fmt.Errorf("getdents64: %v", err)
		}
		if k == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:k], -1, names)
	}
	for _, s := range names {
		if s == name {
			return nil
		}
	}
	return fmt.Errorf("getdents64 of %s: %s missing from %v", dir, name, names)
}

// futexWork hands a counter between 8 goroutines over a mutex and a
// channel, futex waits and wakes with waiters, and returns its total.
func futexWork() int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan int)
	total := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3000 {
				mu.Lock()
				total += i
				mu.Unlock()
				if g%2 == 0 {
					ch <- i
				} else {
					<-ch
				}
			}
		}()
	}
	wg.Wait()
	return total
}

// digest hashes the threads' files and the shared file's records, in
// order: each record must appear exactly once and whole (the order of
// the appends differs from run to run, so they are sorted first).
func digest(dir string) []byte {
	h := sha256.New()
	for n := range threads {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("file%d", n)))
		check(err)
		h.Write(b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "shared"))
	check(err)
	if len(b) != threads*rounds*appendN {
		check(fmt.Errorf("shared file: %d bytes, want %d", len(b), threads*rounds*appendN))
	}
	var recs []string
	for r := range slices.Chunk(b, appendN) {
		if string(r[8:]) != "appended" {
			check(fmt.Errorf("shared file: a torn record %q", r))
		}
		recs = append(recs, string(r))
	}
	sort.Strings(recs)
	for i := 1; i < len(recs); i++ {
		if recs[i] == recs[i-1] {
			check(fmt.Errorf("shared file: record %q twice", recs[i]))
		}
	}
	for _, r := range recs {
		h.Write([]byte(r))
	}
	return h.Sum(nil)
}

func check(err error) {
	if err != nil {
		fmt.Println("filelock:", err)
		os.Exit(1)
	}
}

// unlinkAlone makes a 64 KiB file in dir, closes it and removes it, on
// one thread with nothing else running, and returns the file system's
// free inodes before and after (statfs): gometal frees a file whose
// last link an unlink removed at the end of that unlink when no other
// call runs beside it (kernel/vfs's Reclaim at the end of its hold), so the
// two agree, as on Linux.
func unlinkAlone(dir string) (uint64, uint64) {
	var before, after unix.Statfs_t
	check(unix.Statfs(dir, &before))
	name := filepath.Join(dir, "alone")
	check(os.WriteFile(name, make([]byte, 64<<10), 0o644))
	check(unix.Unlink(name))
	check(unix.Statfs(dir, &after))
	return before.Ffree, after.Ffree
}
