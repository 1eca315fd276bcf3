// Files exercises the file system the way ordinary programs do: it reads
// a configuration file and a directory of them from its working
// directory, then creates, writes, reads, seeks, truncates, renames, links,
// locks, maps and removes files in a temporary directory, stats descriptors
// with AT_EMPTY_PATH and passes bytes through a named pipe, printing what
// it sees and each error, so that the guest's output can be compared with
// Linux's byte for byte. The boot test runs it with testdata/ as its
// working directory (packed into the image with gometal build --files).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	readConfig()
	dir, err := os.MkdirTemp("", "files-example-")
	check(err)
	fmt.Println("temp dir made:", filepath.IsAbs(dir))
	writeRead(dir)
	directories(dir)
	renameAndLink(dir)
	permissions(dir)
	changeTimes(dir)
	locks(dir)
	mapping(dir)
	devices()
	emptyPath(dir)
	fifo(dir)
	advice(dir)
	oneshot()
	workdir(dir)
	check(os.RemoveAll(dir))
	_, err = os.Stat(dir)
	fmt.Println("after RemoveAll:", errors.Is(err, fs.ErrNotExist))
}

// readConfig reads config.json and conf.d/ from the working directory.
func readConfig() {
	b, err := os.ReadFile("config.json")
	check(err)
	var c struct {
		Name    string
		Listen  string
		Workers int
		Tags    []string
	}
	check(json.Unmarshal(b, &c))
	fmt.Printf("config: %+v\n", c)
	matches, err := filepath.Glob("conf.d/*.conf")
	check(err)
	for _, m := range matches {
		b, err := os.ReadFile(m)
		check(err)
		fmt.Printf("%s: %q\n", m, b)
	}
	_, err = os.ReadFile("missing.json")
	fmt.Println("missing file:", err)
}

// writeRead covers create, append, seek, ReadAt/WriteAt, truncate and
// holes.
func writeRead(dir string) {
	p := filepath.Join(dir, "data.txt")
	check(os.WriteFile(p, []byte("hello, file\n"), 0o644))
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	check(err)
	_, err = f.WriteString("second line\n")
	check(err)
	check(f.Close())
	b, err := os.ReadFile(p)
	check(err)
	fmt.Printf("appended: %q\n", b)
	f, err = os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	check(err)
	_, err = syscall.Pwrite(int(f.Fd()), []byte("pwrite\n"), 0) // Linux appends all the same (pwrite(2), BUGS)
	check(err)
	check(f.Close())
	b, err = os.ReadFile(p)
	check(err)
	fmt.Printf("pwrite on O_APPEND: %q\n", b)

	f, err = os.OpenFile(p, os.O_RDWR, 0)
	check(err)
	off, err := f.Seek(7, io.SeekStart)
	check(err)
	buf := make([]byte, 4)
	n, err := f.Read(buf)
	check(err)
	fmt.Printf("seek %d read %q\n", off, buf[:n])
	_, err = f.WriteAt([]byte("FILE"), 7)
	check(err)
	n, err = f.ReadAt(buf, 7)
	check(err)
	fmt.Printf("ReadAt after WriteAt: %q\n", buf[:n])
	end, err := f.Seek(0, io.SeekEnd)
	check(err)
	fmt.Println("size by seek:", end)
	check(f.Truncate(5))
	check(f.Truncate(10)) // the grown part reads as zeros
	b, err = os.ReadFile(p)
	check(err)
	fmt.Printf("truncated and grown: %q\n", b)
	_, err = f.WriteAt([]byte("far"), 100000) // a hole in between
	check(err)
	st, err := f.Stat()
	check(err)
	fmt.Println("sparse size:", st.Size(), "mode:", st.Mode())
	b = make([]byte, 5)
	_, err = f.ReadAt(b, 50000)
	check(err)
	fmt.Printf("hole reads %v\n", b)
	_, err = f.ReadAt(b, 100001)
	fmt.Println("read past end:", err)
	check(f.Close())
	_, err = f.Write([]byte("x"))
	fmt.Println("write after close:", errors.Is(err, os.ErrClosed))

	_, err = os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	fmt.Println("O_EXCL on existing:", errors.Is(err, fs.ErrExist))
	f, err = os.Create(filepath.Join(dir, "big.bin"))
	check(err)
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i * 7)
	}
	for range 3 {
		_, err = f.Write(block)
		check(err)
	}
	check(f.Sync())
	check(f.Close())
	b, err = os.ReadFile(filepath.Join(dir, "big.bin"))
	check(err)
	fmt.Println("big file:", len(b), "bytes, byte 2097159 =", b[2097159], "equal blocks:", slices.Equal(b[:1<<20], b[2<<20:]))
}

// directories covers mkdir, nested MkdirAll, listing, rmdir errors and
// link counts.
func directories(dir string) {
	check(os.MkdirAll(filepath.Join(dir, "a", "b", "c"), 0o755))
	for _, name := range []string{"z.txt", "m.txt", "a/one", "a/two", "a/b/three"} {
		check(os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644))
	}
	entries, err := os.ReadDir(dir)
	check(err)
	for _, e := range entries {
		fmt.Printf("entry %s dir=%v type=%v\n", e.Name(), e.IsDir(), e.Type())
	}
	err = os.Mkdir(filepath.Join(dir, "a"), 0o755)
	fmt.Println("mkdir existing:", errors.Is(err, fs.ErrExist))
	err = syscall.Rmdir(filepath.Join(dir, "a"))
	fmt.Println("rmdir non-empty:", err)
	err = syscall.Rmdir(filepath.Join(dir, "z.txt"))
	fmt.Println("rmdir file:", err)
	err = syscall.Unlink(filepath.Join(dir, "a"))
	fmt.Println("unlink dir:", err)
	_, err = os.ReadFile(filepath.Join(dir, "z.txt", "x"))
	fmt.Println("file as directory:", err != nil, errors.Is(err, syscall.ENOTDIR))
	var st syscall.Stat_t
	check(syscall.Stat(filepath.Join(dir, "a"), &st))
	fmt.Println("links of a (one subdirectory):", st.Nlink)
	var walked []string
	check(filepath.WalkDir(filepath.Join(dir, "a"), func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		walked = append(walked, rel)
		return err
	}))
	fmt.Println("walk:", walked)
	found, err := fs.Glob(os.DirFS(dir), "a/*")
	check(err)
	fmt.Println("glob:", found)
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'n'
	}
	err = os.WriteFile(filepath.Join(dir, string(long)), nil, 0o644)
	fmt.Println("name too long:", errors.Is(err, syscall.ENAMETOOLONG))
}

// renameAndLink covers rename (over files, of directories), hard links
// and symbolic links.
func renameAndLink(dir string) {
	p := func(s string) string { return filepath.Join(dir, s) }
	check(os.Rename(p("z.txt"), p("y.txt")))
	check(os.Rename(p("y.txt"), p("m.txt"))) // over an existing file
	b, err := os.ReadFile(p("m.txt"))
	check(err)
	fmt.Printf("renamed over: %q\n", b)
	check(os.Rename(p("a/b"), p("b2")))
	_, err = os.Stat(p("b2/c"))
	fmt.Println("moved directory keeps children:", err == nil)
	err = os.Rename(p("a"), p("a/two/x"))
	fmt.Println("rename into a file:", errors.Is(err, syscall.ENOTDIR))
	err = os.Rename(p("a"), p("b2"))
	fmt.Println("rename over non-empty dir:", errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST))

	check(os.Link(p("m.txt"), p("hard.txt")))
	var st syscall.Stat_t
	check(syscall.Stat(p("m.txt"), &st))
	fmt.Println("links after link:", st.Nlink)
	check(os.Remove(p("m.txt")))
	b, err = os.ReadFile(p("hard.txt"))
	check(err)
	fmt.Printf("through the other link: %q\n", b)

	check(os.Symlink("hard.txt", p("soft")))
	check(os.Symlink("b2/c", p("dirlink")))
	target, err := os.Readlink(p("soft"))
	check(err)
	fmt.Println("readlink:", target)
	b, err = os.ReadFile(p("soft"))
	check(err)
	fmt.Printf("through symlink: %q\n", b)
	fi, err := os.Lstat(p("soft"))
	check(err)
	fmt.Println("lstat mode:", fi.Mode()&fs.ModeType == fs.ModeSymlink)
	_, err = os.Stat(p("dirlink/."))
	fmt.Println("stat through dir link:", err)
	check(os.Symlink("loop2", p("loop1")))
	check(os.Symlink("loop1", p("loop2")))
	_, err = os.ReadFile(p("loop1"))
	fmt.Println("symlink loop:", errors.Is(err, syscall.ELOOP))
	check(os.Symlink("nowhere", p("dangling")))
	_, err = os.Stat(p("dangling"))
	fmt.Println("dangling:", errors.Is(err, fs.ErrNotExist))
	_, err = os.Readlink(p("hard.txt"))
	fmt.Println("readlink of a file:", errors.Is(err, syscall.EINVAL))
}

// permissions covers chmod, chtimes and the umask.
func permissions(dir string) {
	p := filepath.Join(dir, "perm")
	check(os.WriteFile(p, nil, 0o666))
	fi, err := os.Stat(p)
	check(err)
	fmt.Println("created 0666 under umask:", fi.Mode().Perm())
	check(os.Chmod(p, 0o750))
	fi, err = os.Stat(p)
	check(err)
	fmt.Println("after chmod:", fi.Mode())
	check(os.Chtimes(p, time0, time0))
	fi, err = os.Stat(p)
	check(err)
	fmt.Println("mtime set:", fi.ModTime().UTC().Format("2006-01-02 15:04:05"))
	check(os.Chown(p, 1000, 1000))
	var st syscall.Stat_t
	check(syscall.Stat(p, &st))
	fmt.Println("owner:", st.Uid, st.Gid)
}

// changeTimes checks that chmod, chown and utimensat, by path and by
// descriptor, stamp the file's change time with the time of the call:
// each runs 30 ms after the file's last change, with no other file call
// between, and the change time must have moved on by at least 20 ms.
func changeTimes(dir string) {
	p := filepath.Join(dir, "ctime")
	check(os.WriteFile(p, nil, 0o644))
	f, err := os.Open(p)
	check(err)
	fd := int(f.Fd())
	for _, c := range []struct {
		name string
		do   func() error
	}{
		{"chmod", func() error { return syscall.Chmod(p, 0o600) }},
		{"chown", func() error { return syscall.Chown(p, 1, 1) }},
		{"lchown", func() error { return syscall.Lchown(p, 2, 2) }},
		{"utimensat now", func() error { return unix.UtimesNanoAt(unix.AT_FDCWD, p, nil, 0) }},
		{"utimensat times", func() error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{unix.NsecToTimespec(0), unix.NsecToTimespec(0)}, 0)
		}},
		{"fchmod", func() error { return syscall.Fchmod(fd, 0o640) }},
		{"fchown", func() error { return syscall.Fchown(fd, 3, 3) }},
	} {
		var before, after syscall.Stat_t
		check(syscall.Stat(p, &before))
		time.Sleep(30 * time.Millisecond)
		check(c.do())
		check(syscall.Stat(p, &after))
		moved := time.Duration(after.Ctim.Nano() - before.Ctim.Nano())
		fmt.Printf("%s: change time moved on by 20ms or more: %v\n", c.name, moved >= 20*time.Millisecond)
	}
	check(f.Close())
}

// locks covers flock and fcntl record locks between two opens.
func locks(dir string) {
	p := filepath.Join(dir, "lockfile")
	a, err := os.Create(p)
	check(err)
	b, err := os.Open(p)
	check(err)
	check(syscall.Flock(int(a.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	err = syscall.Flock(int(b.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	fmt.Println("second flock:", err)
	check(syscall.Flock(int(a.Fd()), syscall.LOCK_UN))
	err = syscall.Flock(int(b.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	fmt.Println("after unlock:", err)
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: 0, Len: 10}
	check(syscall.FcntlFlock(a.Fd(), syscall.F_SETLK, &lk))
	probe := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: 5, Len: 1}
	check(syscall.FcntlFlock(b.Fd(), syscall.F_GETLK, &probe))
	fmt.Println("same process record lock conflicts:", probe.Type != syscall.F_UNLCK)
	check(a.Close())
	check(b.Close())
}

// mapping covers a shared mapping written through memory and read back
// through the file, and the other way round.
func mapping(dir string) {
	p := filepath.Join(dir, "mapped")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	check(err)
	check(f.Truncate(8192))
	m, err := syscall.Mmap(int(f.Fd()), 0, 8192, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	check(err)
	copy(m[4096:], "written through memory")
	_, err = f.WriteAt([]byte("written through the file"), 10)
	check(err)
	buf := make([]byte, 22)
	_, err = f.ReadAt(buf, 4096)
	check(err)
	fmt.Printf("file sees: %q\nmemory sees: %q\n", buf, m[10:34])
	check(syscall.Munmap(m))
	check(f.Close())
}

// devices covers /dev/null, /dev/zero and /dev/urandom.
func devices() {
	n, err := io.Copy(io.Discard, io.LimitReader(must(os.Open("/dev/zero")), 1<<16))
	check(err)
	fmt.Println("read from /dev/zero:", n)
	null, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	check(err)
	k, err := null.Write([]byte("gone"))
	fmt.Println("write to /dev/null:", k, err)
	check(null.Close())
	b, err := os.ReadFile("/dev/null")
	fmt.Println("read /dev/null:", len(b), err)
	r := must(os.Open("/dev/urandom"))
	buf := make([]byte, 64)
	_, err = io.ReadFull(r, buf)
	fmt.Println("urandom read:", err, "all zero:", slices.Equal(buf, make([]byte, 64)))
	check(r.Close())
}

// emptyPath covers fstatat and statx with AT_EMPTY_PATH: of a regular
// file (a file of the file system) and of a pipe (a descriptor that is
// none, which the kernel describes by its kind).
func emptyPath(dir string) {
	f := must(os.Create(filepath.Join(dir, "empty-path.txt")))
	_, err := f.WriteString("twelve bytes")
	check(err)
	var st unix.Stat_t
	check(unix.Fstatat(int(f.Fd()), "", &st, unix.AT_EMPTY_PATH))
	fmt.Println("fstatat AT_EMPTY_PATH of a file: regular", st.Mode&unix.S_IFMT == unix.S_IFREG, "size", st.Size)
	check(f.Close())
	r, w := must2(os.Pipe())
	check(unix.Fstatat(int(r.Fd()), "", &st, unix.AT_EMPTY_PATH))
	fmt.Println("fstatat AT_EMPTY_PATH of a pipe: FIFO", st.Mode&unix.S_IFMT == unix.S_IFIFO)
	var sx unix.Statx_t
	check(unix.Statx(int(w.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_TYPE|unix.STATX_MODE, &sx))
	fmt.Println("statx AT_EMPTY_PATH of a pipe: FIFO", uint32(sx.Mode)&unix.S_IFMT == unix.S_IFIFO)
	err = unix.Statx(int(w.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_TYPE, (*unix.Statx_t)(nil))
	fmt.Println("statx AT_EMPTY_PATH to a bad buffer:", err)
	check(r.Close())
	check(w.Close())
}

// fifo covers a named pipe: mkfifo, the open of each end waiting for
// the other, and bytes through it.
func fifo(dir string) {
	path := filepath.Join(dir, "fifo")
	check(unix.Mkfifo(path, 0o600))
	done := make(chan error)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.WriteString("through the FIFO")
			err = errors.Join(err, w.Close())
		}
		done <- err
	}()
	r := must(os.Open(path))
	b, err := io.ReadAll(r)
	check(err)
	check(<-done)
	check(r.Close())
	st := must(os.Stat(path))
	fmt.Printf("fifo: %q, named pipe %v\n", b, st.Mode()&fs.ModeNamedPipe != 0)

	// O_RDWR opens both ends at once, without waiting for another
	// opener; a writer opened O_NONBLOCK then finds a reader (not
	// ENXIO), and the O_RDWR description reads what both wrote.
	rw := must(os.OpenFile(path, os.O_RDWR, 0))
	fl := must(unix.FcntlInt(rw.Fd(), unix.F_GETFL, 0))
	must(rw.WriteString("one description, "))
	w := must(os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0))
	must(w.WriteString("both ends"))
	check(w.Close())
	buf := make([]byte, 64)
	n := must(rw.Read(buf))
	check(rw.Close())
	// Its close gave both ends back: a writer opened O_NONBLOCK finds
	// no reader now.
	_, err = os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0)
	fmt.Printf("fifo O_RDWR: %q, F_GETFL %#x; after its close a writer gets ENXIO: %v\n", buf[:n], fl&^unix.O_NONBLOCK, errors.Is(err, unix.ENXIO))
}

// advice covers fadvise64: accepted on a file, with Linux's errors for
// an unknown advice or a negative length (EINVAL), a pipe (ESPIPE) and a
// closed descriptor (EBADF).
func advice(dir string) {
	f := must(os.Create(filepath.Join(dir, "advised")))
	fd := int(f.Fd())
	var p [2]int
	check(unix.Pipe2(p[:], unix.O_CLOEXEC))
	name := func(err error) string {
		if err == nil {
			return "ok"
		}
		if errno, ok := err.(unix.Errno); ok {
			return unix.ErrnoName(errno)
		}
		return fmt.Sprint(err)
	}
	fmt.Println("fadvise:",
		name(unix.Fadvise(fd, 0, 0, unix.FADV_SEQUENTIAL)),
		name(unix.Fadvise(fd, 1<<40, 4096, unix.FADV_DONTNEED)),
		name(unix.Fadvise(fd, 0, 0, 6)),
		name(unix.Fadvise(fd, 0, -1, unix.FADV_NORMAL)),
		name(unix.Fadvise(p[0], 0, 0, unix.FADV_NORMAL)))
	check(unix.Close(p[0]))
	check(unix.Close(p[1]))
	check(f.Close())
	fmt.Println("fadvise of a closed descriptor:", name(unix.Fadvise(p[0], 0, 0, unix.FADV_NORMAL)))
}

// oneshot covers epoll's EPOLLONESHOT on a pipe whose writer is gone:
// the first wait reports the hang-up (EPOLLHUP, always reported, though
// not asked for), the second nothing, the entry being disarmed until
// EPOLL_CTL_MOD arms it again.
func oneshot() {
	var p [2]int
	check(unix.Pipe2(p[:], unix.O_CLOEXEC))
	check(unix.Close(p[1]))
	ep := must(unix.EpollCreate1(unix.EPOLL_CLOEXEC))
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(p[0])}
	check(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p[0], &ev))
	events := make([]unix.EpollEvent, 4)
	var got []string
	wait := func() {
		n := must(unix.EpollWait(ep, events, 0))
		got = append(got, fmt.Sprintf("%d", n))
		for _, e := range events[:n] {
			got = append(got, fmt.Sprintf("%#x", e.Events))
		}
	}
	wait()
	wait()
	check(unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, p[0], &ev))
	wait()
	check(unix.Close(ep))
	check(unix.Close(p[0]))
	fmt.Println("epoll oneshot on a hung-up pipe:", got)
}

// workdir covers Getwd and Chdir.
func workdir(dir string) {
	start, err := os.Getwd()
	check(err)
	check(os.Chdir(dir))
	wd, err := os.Getwd()
	check(err)
	resolved, err := filepath.EvalSymlinks(dir)
	check(err)
	fmt.Println("getwd after chdir:", wd == resolved)
	b, err := os.ReadFile("hard.txt")
	check(err)
	fmt.Printf("relative read: %q\n", b)
	check(os.Chdir(start))
}

var time0 = must(timeParse("2001-02-03T04:05:06Z"))

func must[T any](v T, err error) T {
	check(err)
	return v
}

func must2[T, U any](t T, u U, err error) (T, U) {
	check(err)
	return t, u
}

func check(err error) {
	if err != nil {
		fmt.Println("unexpected error:", err)
		os.Exit(1)
	}
}
