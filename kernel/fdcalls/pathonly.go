package fdcalls

import (
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vfs"
	"golang.org/x/sys/unix"
)

// An O_PATH descriptor (fsys.OpenFile) names a file without opening it:
// Linux's fdget, which most calls on a descriptor use, does not find it,
// so those calls answer exactly as for a closed descriptor, in their own
// order of checks (pread64 with a negative offset is EINVAL either way,
// with a good offset EBADF). The others take it as it is (fstat, fstatfs,
// fchdir, close, dup, the *at calls' directory: fdget_raw), and fcntl
// its flag and dup commands only (check_fcntl_cmd: pathFcntlAllowed).
// PathHide gives the first kind of call a closed descriptor's number in
// place of an O_PATH one, before the handler runs.

// A pathHidden is a system call and the argument that holds a descriptor
// Linux takes with fdget (fdget_pos, sockfd_lookup).
type pathHidden struct {
	nr  uint16
	arg uint8
}

// pathHiddenArgs lists the calls gometal serves that take a descriptor
// with fdget, and where: a list rather than a table indexed by call
// number, as kernelOnlyCalls.
var pathHiddenArgs = [...]pathHidden{
	{unix.SYS_READ, 0}, {unix.SYS_WRITE, 0}, {unix.SYS_READV, 0}, {unix.SYS_WRITEV, 0},
	{unix.SYS_PREAD64, 0}, {unix.SYS_PWRITE64, 0}, {unix.SYS_LSEEK, 0}, {unix.SYS_IOCTL, 0},
	{unix.SYS_GETDENTS64, 0}, {unix.SYS_FTRUNCATE, 0}, {unix.SYS_FALLOCATE, 0},
	{unix.SYS_FSYNC, 0}, {unix.SYS_FDATASYNC, 0}, {unix.SYS_SYNCFS, 0}, {unix.SYS_FADVISE64, 0},
	{unix.SYS_FCHMOD, 0}, {unix.SYS_FCHOWN, 0}, {unix.SYS_FLOCK, 0}, {unix.SYS_FCNTL, 0},
	{unix.SYS_COPY_FILE_RANGE, 0}, {unix.SYS_COPY_FILE_RANGE, 2},
	{unix.SYS_SPLICE, 0}, {unix.SYS_SPLICE, 2}, {unix.SYS_TEE, 0}, {unix.SYS_TEE, 1},
	{unix.SYS_SENDFILE, 0}, {unix.SYS_SENDFILE, 1}, {unix.SYS_MMAP, 4}, {unix.SYS_UTIMENSAT, 0},
	{unix.SYS_EPOLL_CTL, 0}, {unix.SYS_EPOLL_CTL, 2}, {unix.SYS_EPOLL_WAIT, 0}, {unix.SYS_EPOLL_PWAIT, 0},
	{unix.SYS_BIND, 0}, {unix.SYS_LISTEN, 0}, {unix.SYS_CONNECT, 0},
	// accept comes as accept4 (package kernel's legacyCalls)
	{unix.SYS_ACCEPT4, 0}, {unix.SYS_SHUTDOWN, 0}, {unix.SYS_GETSOCKNAME, 0},
	{unix.SYS_GETPEERNAME, 0}, {unix.SYS_SETSOCKOPT, 0}, {unix.SYS_GETSOCKOPT, 0},
	{unix.SYS_SENDTO, 0}, {unix.SYS_RECVFROM, 0}, {unix.SYS_SENDMSG, 0}, {unix.SYS_RECVMSG, 0},
}

// closedFD is the number PathHide puts in place of an O_PATH descriptor:
// beyond the descriptor table, so no descriptor ever has it (and no call
// gives it another meaning, as AT_FDCWD's -100).
const closedFD = fdtab.MaxFDs

// PathHide replaces, in system call nr's arguments a, each O_PATH
// descriptor where Linux's fdget would not find it by closedFD
// (pathHiddenArgs; for fcntl unless the command is pathFcntlAllowed's;
// utimensat only when it has no path, the form that changes the
// descriptor's own file). Every call under the files lock asks, so the
// common case costs a look at the first argument's descriptor only: the
// list is read when that is an O_PATH descriptor or the call takes one
// later (pathLaterArg). Context: trap, files lock held; does not
// allocate.
func PathHide(nr uint64, a *[6]uintptr) {
	if !pathOnly(int(int32(a[0]))) && !pathLaterArg(nr) {
		return
	}
	if nr == unix.SYS_FCNTL && pathFcntlAllowed(int(int32(a[1]))) || nr == unix.SYS_UTIMENSAT && a[1] != 0 {
		return
	}
	for i := range pathHiddenArgs {
		if r := &pathHiddenArgs[i]; uint64(r.nr) == nr {
			if p := &a[r.arg%6]; pathOnly(int(int32(*p))) {
				*p = closedFD
			}
		}
	}
}

// pathLaterArg reports whether pathHiddenArgs lists call nr with a
// descriptor in an argument after the first. Context: any; does not
// allocate.
func pathLaterArg(nr uint64) bool {
	switch nr {
	case unix.SYS_COPY_FILE_RANGE, unix.SYS_SPLICE, unix.SYS_TEE, unix.SYS_SENDFILE, unix.SYS_EPOLL_CTL, unix.SYS_MMAP:
		return true
	}
	return false
}

// pathFcntlAllowed reports whether fcntl command cmd takes an O_PATH
// descriptor, as Linux 6.18's check_fcntl_cmd: dup, the descriptor flags,
// F_GETFL, and the queries F_DUPFD_QUERY and F_CREATED_QUERY (which
// gometal answers EINVAL on any descriptor, as a kernel before 6.10).
// Context: any; does not allocate.
func pathFcntlAllowed(cmd int) bool {
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_GETFD, unix.F_SETFD, unix.F_GETFL, unix.F_DUPFD_QUERY, unix.F_CREATED_QUERY:
		return true
	}
	return false
}

// pathOnly reports whether fd is an O_PATH descriptor.
// Context: trap, files lock held; does not allocate. Not inlined: its
// copies cost the image bytes (issue 16's budget).
//
//go:noinline
func pathOnly(fd int) bool {
	f := fdtab.Get(fd)
	return f != nil && f.Kind == fdtab.KindFile && vfs.DescOf(f).Flags&unix.O_PATH != 0
}
