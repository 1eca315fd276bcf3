// Badfiles hands the file system calls bad input: pointers outside the
// program's memory, paths longer than PATH_MAX, names longer than
// NAME_MAX, symbolic-link loops, too many open files, wrong descriptor
// kinds and bad flags. It prints each error, so the guest's errnos can be
// compared with Linux's.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

const badPtr = 8 // below every mapping: EFAULT

func main() {
	dir, err := os.MkdirTemp("", "badfiles-")
	check(err)
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "f")
	check(os.WriteFile(file, []byte("data"), 0o644))
	fd, err := syscall.Open(file, syscall.O_RDWR, 0)
	check(err)

	show("openat bad path pointer", raw(syscall.SYS_OPENAT, fdcwd, badPtr, 0))
	show("read into bad buffer", raw(syscall.SYS_READ, uintptr(fd), badPtr, 4))
	show("write from bad buffer", raw(syscall.SYS_WRITE, uintptr(fd), badPtr, 4))
	show("fstat to bad buffer", raw(syscall.SYS_FSTAT, uintptr(fd), badPtr, 0))
	show("pipe2 to bad buffer", raw(syscall.SYS_PIPE2, badPtr, 0, 0))
	show("getcwd to bad buffer", raw(syscall.SYS_GETCWD, badPtr, 4096, 0))
	show("getcwd too small", raw(syscall.SYS_GETCWD, uintptr(unsafe.Pointer(&make([]byte, 1)[0])), 1, 0))

	_, err = os.Stat("/" + strings.Repeat("a/", 2100))
	show("path over PATH_MAX", err)
	_, err = os.Stat(filepath.Join(dir, strings.Repeat("n", 256)))
	show("name over NAME_MAX", err)
	check(os.Symlink("self", filepath.Join(dir, "self")))
	_, err = os.Open(filepath.Join(dir, "self"))
	show("symlink to itself", err)
	_, err = os.Open(filepath.Join(file, "below"))
	show("file as directory", err)
	_, err = os.Open(filepath.Join(dir, "missing", "x"))
	show("missing directory", err)

	show("read from a bad descriptor", raw(syscall.SYS_READ, 999, 0, 0))
	show("close of a bad descriptor", raw(syscall.SYS_CLOSE, 12345, 0, 0))
	show("lseek bad whence", raw(syscall.SYS_LSEEK, uintptr(fd), 0, 99))
	show("lseek negative", raw(syscall.SYS_LSEEK, uintptr(fd), ^uintptr(9), 0))
	show("unlinkat bad flags", raw(syscall.SYS_UNLINKAT, fdcwd, ptr(file), 0x1234))
	show("renameat2 both flags", raw(sysRenameat2, fdcwd, ptr(file), fdcwd, ptr(file+"2"), 3))
	show("ftruncate negative", raw(syscall.SYS_FTRUNCATE, uintptr(fd), ^uintptr(0), 0))
	show("readlink of a file", raw(syscall.SYS_READLINKAT, fdcwd, ptr(file), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 8))
	show("readlink zero size", raw(syscall.SYS_READLINKAT, fdcwd, ptr(filepath.Join(dir, "self")), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 0))
	dfd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	check(err)
	show("read a directory", raw(syscall.SYS_READ, uintptr(dfd), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 8))
	show("write a read-only descriptor", raw(syscall.SYS_WRITE, uintptr(dfd), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 8))
	show("getdents of a file", raw(syscall.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&make([]byte, 64)[0])), 64))
	show("getdents buffer too small", raw(syscall.SYS_GETDENTS64, uintptr(dfd), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 8))
	show("openat relative to a file", raw(syscall.SYS_OPENAT, uintptr(fd), ptr("x"), 0))
	show("openat relative to a bad descriptor", raw(syscall.SYS_OPENAT, 777, ptr("x"), 0))
	show("mkdir over a file", raw(syscall.SYS_MKDIRAT, fdcwd, ptr(file), 0o755))
	show("rmdir of a non-empty directory", raw(syscall.SYS_RMDIR, ptr(filepath.Dir(dir)), 0, 0))
	show("rename a directory into itself", raw(syscall.SYS_RENAME, ptr(dir), ptr(filepath.Join(dir, "in")), 0))
	show("link to a directory", raw(syscall.SYS_LINK, ptr(dir), ptr(filepath.Join(dir, "dl")), 0))
	show("pipe2 bad flags", raw(syscall.SYS_PIPE2, uintptr(unsafe.Pointer(&[2]int32{})), 0x1, 0))
	var p [2]int
	check(syscall.Pipe(p[:]))
	show("lseek on a pipe", raw(syscall.SYS_LSEEK, uintptr(p[0]), 0, 0))
	show("pread on a pipe", raw(syscall.SYS_PREAD64, uintptr(p[0]), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 8, 0))
	show("write to the read end", raw(syscall.SYS_WRITE, uintptr(p[0]), uintptr(unsafe.Pointer(&make([]byte, 8)[0])), 8))
	show("flock bad operation", raw(syscall.SYS_FLOCK, uintptr(fd), 0x40, 0))
	show("fcntl bad command", raw(syscall.SYS_FCNTL, uintptr(fd), 9999, 0))
	tooMany()
}

// tooMany lowers RLIMIT_NOFILE and opens files until EMFILE.
func tooMany() {
	var old syscall.Rlimit
	check(syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old))
	check(syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 32, Max: old.Max}))
	var opened []int
	var err error
	for {
		var fd int
		fd, err = syscall.Open("/dev/null", syscall.O_RDONLY, 0)
		if err != nil {
			break
		}
		opened = append(opened, fd)
	}
	// The runtime may hold descriptors of its own (on Linux, cgroup files
	// for GOMAXPROCS), so the count varies; the last one does not.
	fmt.Printf("opened files up to descriptor %d, then: %v (EMFILE %v)\n", opened[len(opened)-1], err, errors.Is(err, syscall.EMFILE))
	for _, fd := range opened {
		check(syscall.Close(fd))
	}
	fd, err := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	fmt.Println("after closing them:", err)
	check(syscall.Close(fd))
	check(syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old))
}

const atFDCWD = -100

// ptr returns a NUL-terminated copy of s for a raw system call.
func ptr(s string) uintptr {
	b := append([]byte(s), 0)
	keep = append(keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

var keep [][]byte

// raw makes a system call and returns its error (nil on success).
func raw(nr uintptr, args ...uintptr) error {
	a := make([]uintptr, 6)
	copy(a, args)
	_, _, e := syscall.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

func show(what string, err error) {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	fmt.Printf("%s: %v\n", what, err)
}

func check(err error) {
	if err != nil {
		fmt.Println("unexpected error:", err)
		os.Exit(1)
	}
}

// fdcwd is AT_FDCWD as a system-call argument.
var fdcwd = uintptr(atFDCWDInt())

func atFDCWDInt() int { return atFDCWD }

// sysRenameat2 is renameat2's number on linux/amd64.
const sysRenameat2 = 316
