package main

import (
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// closedFD is a descriptor number the program never opens.
const closedFD = 1000

// pathOnlyCalls opens a file and a directory with O_PATH and describes
// what each of a list of calls answers on the descriptor: Linux refuses
// it with EBADF everywhere but fstat, fstatfs, fchdir, the *at calls'
// directory, dup, close and fcntl's dup and flag commands other than
// F_SETFL (its fdget against fdget_raw, and check_fcntl_cmd), and those
// calls answer as they do on a descriptor that is not open, in their own
// order of checks (a negative offset is EINVAL either way).
func pathOnlyCalls() string {
	dir, err := os.MkdirTemp("", "opath-")
	check(err)
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "f")
	check(os.WriteFile(name, []byte("data"), 0o644))
	var out []string
	for i, path := range []string{name, dir} {
		fd, err := unix.Open(path, unix.O_PATH, 0)
		check(err)
		out = append(out, []string{"file:", "dir:"}[i])
		out = append(out, pathOnlyAnswers(fd)...)
		check(unix.Close(fd))
	}
	// The same calls on a descriptor that is not open: where fdget does
	// not find an O_PATH descriptor, the answers above must be these.
	out = append(out, "closed:")
	out = append(out, pathOnlyAnswers(closedFD)...)
	return fmt.Sprint(out)
}

// pathOnlyAnswers runs the calls on O_PATH descriptor fd and returns
// "name=answer" for each: a number, "fd" for a new descriptor (whose
// number the host and the guest need not share), or the errno's name.
func pathOnlyAnswers(fd int) []string {
	var out []string
	add := func(name string, r uintptr, e unix.Errno) {
		if e != 0 {
			out = append(out, name+"="+unix.ErrnoName(e))
			return
		}
		out = append(out, fmt.Sprintf("%s=%#x", name, r))
	}
	call := func(name string, nr uintptr, a ...uintptr) uintptr {
		a = append(a, 0, 0, 0, 0, 0, 0)
		r, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		add(name, r, e)
		return r
	}
	callFD := func(name string, nr uintptr, a ...uintptr) int {
		a = append(a, 0, 0, 0, 0, 0, 0)
		r, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		if e != 0 {
			add(name, r, e)
			return -1
		}
		out = append(out, name+"=fd")
		return int(r)
	}
	f := uintptr(fd)
	var lk unix.Flock_t
	lk.Type = unix.F_RDLCK
	lkp := uintptr(unsafe.Pointer(&lk))
	buf := make([]byte, 512)
	bp, n := uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf))
	var st unix.Stat_t
	var sfs unix.Statfs_t
	call("getfd", unix.SYS_FCNTL, f, unix.F_GETFD)
	call("setfd", unix.SYS_FCNTL, f, unix.F_SETFD, unix.FD_CLOEXEC)
	call("getfl", unix.SYS_FCNTL, f, unix.F_GETFL)
	call("setfl", unix.SYS_FCNTL, f, unix.F_SETFL, unix.O_NONBLOCK)
	call("getlk", unix.SYS_FCNTL, f, unix.F_GETLK, lkp)
	call("setlk", unix.SYS_FCNTL, f, unix.F_SETLK, lkp)
	call("ofd-getlk", unix.SYS_FCNTL, f, unix.F_OFD_GETLK, lkp)
	call("pipe-sz", unix.SYS_FCNTL, f, unix.F_GETPIPE_SZ)
	call("bad-cmd", unix.SYS_FCNTL, f, 12345)
	if d := callFD("dupfd", unix.SYS_FCNTL, f, unix.F_DUPFD_CLOEXEC, 0); d >= 0 {
		call("dup-getfl", unix.SYS_FCNTL, uintptr(d), unix.F_GETFL)
		check(unix.Close(d))
	}
	call("flock", unix.SYS_FLOCK, f, unix.LOCK_SH)
	call("read", unix.SYS_READ, f, bp, n)
	call("write", unix.SYS_WRITE, f, bp, 1)
	call("pread", unix.SYS_PREAD64, f, bp, n, 0)
	call("lseek", unix.SYS_LSEEK, f, 0, 0)
	call("getdents", unix.SYS_GETDENTS64, f, bp, n)
	call("fstat", unix.SYS_FSTAT, f, uintptr(unsafe.Pointer(&st)))
	call("fstatfs", unix.SYS_FSTATFS, f, uintptr(unsafe.Pointer(&sfs)))
	call("fchmod", unix.SYS_FCHMOD, f, 0o600)
	call("fchown", unix.SYS_FCHOWN, f, 0, 0)
	call("ftruncate", unix.SYS_FTRUNCATE, f, 0)
	call("fallocate", unix.SYS_FALLOCATE, f, 0, 0, 16)
	call("fsync", unix.SYS_FSYNC, f)
	call("fdatasync", unix.SYS_FDATASYNC, f)
	call("syncfs", unix.SYS_SYNCFS, f)
	call("fadvise", unix.SYS_FADVISE64, f, 0, 0, unix.FADV_NORMAL)
	call("fadvise-bad-len", unix.SYS_FADVISE64, f, 0, ^uintptr(0), unix.FADV_NORMAL)
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	call("readv", unix.SYS_READV, f, uintptr(unsafe.Pointer(&iov)), 1)
	call("writev", unix.SYS_WRITEV, f, uintptr(unsafe.Pointer(&iov)), 1)
	call("pwrite", unix.SYS_PWRITE64, f, bp, 1, 0)
	call("pread-neg", unix.SYS_PREAD64, f, bp, n, ^uintptr(0))
	call("ftruncate-neg", unix.SYS_FTRUNCATE, f, ^uintptr(0))
	call("mmap-unaligned", unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_SHARED, f, 1)
	// An anonymous mapping ignores the descriptor; the address is the
	// kernel's choice, so only the outcome is shown.
	if m, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS); err == nil {
		out = append(out, "mmap-anon=ok")
		check(unix.Munmap(m))
	} else {
		add("mmap-anon", 0, err.(unix.Errno))
	}
	call("copy-range", unix.SYS_COPY_FILE_RANGE, f, 0, f, 0, 4, 0)
	call("splice", unix.SYS_SPLICE, f, 0, f, 0, 4, 0)
	call("tee", unix.SYS_TEE, f, f, 4, 0)
	var sockErr int32
	optLen := uint32(4)
	call("getsockopt", unix.SYS_GETSOCKOPT, f, unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(&sockErr)), uintptr(unsafe.Pointer(&optLen)))
	call("shutdown", unix.SYS_SHUTDOWN, f, unix.SHUT_RDWR)
	call("futimens", unix.SYS_UTIMENSAT, f, 0, 0, 0)
	call("futimens-flags", unix.SYS_UTIMENSAT, f, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
	call("epoll-wait", unix.SYS_EPOLL_WAIT, f, bp, 1, 0)
	call("epoll-ctl-epfd", unix.SYS_EPOLL_CTL, f, unix.EPOLL_CTL_DEL, 1, 0)
	call("ioctl", unix.SYS_IOCTL, f, unix.SIOCINQ, bp)
	call("mmap", unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_SHARED, f, 0)
	null, err := unix.Open("/dev/null", unix.O_WRONLY, 0)
	check(err)
	call("sendfile", unix.SYS_SENDFILE, uintptr(null), f, 0, 4)
	check(unix.Close(null))
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	check(err)
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	call("epoll-ctl", unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_ADD, f, uintptr(unsafe.Pointer(&ev)))
	check(unix.Close(ep))
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		child := []byte("f\x00")
		if r := callFD("openat", unix.SYS_OPENAT, f, uintptr(unsafe.Pointer(&child[0])), unix.O_RDONLY|unix.O_CLOEXEC); r >= 0 {
			check(unix.Close(r))
		}
		wd, err := os.Getwd()
		check(err)
		call("fchdir", unix.SYS_FCHDIR, f)
		check(os.Chdir(wd))
	}
	return out
}
