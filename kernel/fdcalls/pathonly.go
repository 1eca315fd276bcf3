package fdcalls

import (
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vfs"
	"golang.org/x/sys/unix"
)

// A pathRefusal is a system call and the argument that holds a
// descriptor Linux takes with fdget, which refuses an O_PATH descriptor
// with EBADF before anything else (read, write, lseek, the locks, the
// data and mode changes, sockets, mmap of a file): pathRefusals lists
// the calls gometal serves. The others take one as it is (fstat, fstatfs,
// fchdir, close, dup, the *at calls' directory), and fcntl its flag
// and dup commands only (pathFcntlAllowed).
type pathRefusal struct {
	nr  uint16
	arg uint8
}

// pathRefusals are the calls that refuse an O_PATH descriptor in the
// given argument (Linux's fdget, fdget_pos and sockfd_lookup): a list
// rather than a table indexed by call number, as kernelOnlyCalls.
var pathRefusals = [...]pathRefusal{
	{unix.SYS_READ, 0}, {unix.SYS_WRITE, 0}, {unix.SYS_READV, 0}, {unix.SYS_WRITEV, 0},
	{unix.SYS_PREAD64, 0}, {unix.SYS_PWRITE64, 0}, {unix.SYS_LSEEK, 0}, {unix.SYS_IOCTL, 0},
	{unix.SYS_GETDENTS64, 0}, {unix.SYS_FTRUNCATE, 0}, {unix.SYS_FALLOCATE, 0},
	{unix.SYS_FSYNC, 0}, {unix.SYS_FDATASYNC, 0}, {unix.SYS_SYNCFS, 0},
	{unix.SYS_FCHMOD, 0}, {unix.SYS_FCHOWN, 0}, {unix.SYS_FLOCK, 0},
	{unix.SYS_COPY_FILE_RANGE, 0}, {unix.SYS_COPY_FILE_RANGE, 2},
	{unix.SYS_SPLICE, 0}, {unix.SYS_SPLICE, 2}, {unix.SYS_TEE, 0}, {unix.SYS_TEE, 1},
	{unix.SYS_SENDFILE, 0}, {unix.SYS_SENDFILE, 1}, {unix.SYS_EPOLL_CTL, 2}, {unix.SYS_MMAP, 4},
	{unix.SYS_FCNTL, 0},
	{unix.SYS_BIND, 0}, {unix.SYS_LISTEN, 0}, {unix.SYS_CONNECT, 0}, {unix.SYS_ACCEPT, 0},
	{unix.SYS_ACCEPT4, 0}, {unix.SYS_SHUTDOWN, 0}, {unix.SYS_GETSOCKNAME, 0},
	{unix.SYS_GETPEERNAME, 0}, {unix.SYS_SETSOCKOPT, 0}, {unix.SYS_GETSOCKOPT, 0},
	{unix.SYS_SENDTO, 0}, {unix.SYS_RECVFROM, 0}, {unix.SYS_SENDMSG, 0}, {unix.SYS_RECVMSG, 0},
}

// PathRefused reports whether system call nr with arguments a names an
// O_PATH descriptor where Linux answers EBADF (pathRefusals; for fcntl
// every command but pathFcntlAllowed's; for mmap only a mapping of a
// file, since MAP_ANONYMOUS ignores the descriptor): the caller answers
// EBADF without running the call. An O_PATH descriptor is one of the
// root file system's (fsys.OpenFile): its description's flags say
// O_PATH. Context: trap, files lock held; does not allocate.
func PathRefused(nr uint64, a *[6]uintptr) bool {
	for i := range pathRefusals {
		if r := &pathRefusals[i]; uint64(r.nr) == nr && pathOnly(int(int32(a[r.arg%6]))) {
			return nr == unix.SYS_FCNTL && !pathFcntlAllowed(int(int32(a[1]))) ||
				nr == unix.SYS_MMAP && a[3]&unix.MAP_ANONYMOUS == 0 ||
				nr != unix.SYS_FCNTL && nr != unix.SYS_MMAP
		}
	}
	return false
}

// pathFcntlAllowed reports whether fcntl command cmd works on an O_PATH
// descriptor, as Linux's check_fcntl_cmd says: dup and the flag reads,
// and F_SETFD. Context: any; does not allocate.
func pathFcntlAllowed(cmd int) bool {
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_GETFD, unix.F_SETFD, unix.F_GETFL:
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
