package fdcalls

import (
	"testing"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestPathHide: an O_PATH descriptor becomes closedFD where Linux's
// fdget does not find it, in the argument each call takes it in, and
// nowhere else: fstat, fstatfs, fchdir, close, dup and the *at calls'
// directory take it; fcntl takes it for its dup and flag commands but
// F_SETFL; utimensat takes it with a path (a directory). A descriptor
// opened without O_PATH stays. The lock-free flag and epoll_ctl paths
// decline an O_PATH descriptor, so that the path with the lock answers.
func TestPathHide(t *testing.T) {
	saved, savedDescs := fdtab.Files, [2]vfs.Desc{vfs.Descs[4], vfs.Descs[5]}
	t.Cleanup(func() { fdtab.Files, vfs.Descs[4], vfs.Descs[5] = saved, savedDescs[0], savedDescs[1] })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	vfs.Descs[4] = vfs.Desc{Refs: 1, Ino: 9, Flags: unix.O_PATH}
	vfs.Descs[5] = vfs.Desc{Refs: 1, Ino: 9, Flags: unix.O_RDWR}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindFile, Desc: 4} // O_PATH
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindFile, Desc: 5} // read and write
	fdtab.Files[7] = fdtab.File{Kind: fdtab.KindEpoll}
	const x = closedFD
	for _, c := range []struct {
		nr       uint64
		a, after []uintptr
	}{
		{unix.SYS_READ, []uintptr{3, 8, 1}, []uintptr{x, 8, 1}},
		{unix.SYS_PREAD64, []uintptr{3, 8, 1, 5}, []uintptr{x, 8, 1, 5}},
		{unix.SYS_LSEEK, []uintptr{3}, []uintptr{x}},
		{unix.SYS_FLOCK, []uintptr{3, unix.LOCK_SH}, []uintptr{x, unix.LOCK_SH}},
		{unix.SYS_FCHMOD, []uintptr{3}, []uintptr{x}},
		{unix.SYS_IOCTL, []uintptr{3}, []uintptr{x}},
		{unix.SYS_CONNECT, []uintptr{3}, []uintptr{x}},
		{unix.SYS_SENDFILE, []uintptr{6, 3}, []uintptr{6, x}},
		{unix.SYS_SENDFILE, []uintptr{3, 6}, []uintptr{x, 6}},
		{unix.SYS_SPLICE, []uintptr{6, 0, 3}, []uintptr{6, 0, x}},
		{unix.SYS_COPY_FILE_RANGE, []uintptr{3, 0, 3}, []uintptr{x, 0, x}},
		{unix.SYS_EPOLL_CTL, []uintptr{7, unix.EPOLL_CTL_ADD, 3}, []uintptr{7, unix.EPOLL_CTL_ADD, x}},
		{unix.SYS_EPOLL_CTL, []uintptr{3, unix.EPOLL_CTL_ADD, 6}, []uintptr{x, unix.EPOLL_CTL_ADD, 6}},
		{unix.SYS_EPOLL_WAIT, []uintptr{3, 8, 1}, []uintptr{x, 8, 1}},
		{unix.SYS_MMAP, []uintptr{0, 4096, unix.PROT_READ, unix.MAP_SHARED, 3}, []uintptr{0, 4096, unix.PROT_READ, unix.MAP_SHARED, x}},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_SETFL, unix.O_NONBLOCK}, []uintptr{x, unix.F_SETFL, unix.O_NONBLOCK}},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_SETLK}, []uintptr{x, unix.F_SETLK}},
		{unix.SYS_FCNTL, []uintptr{3, 12345}, []uintptr{x, 12345}},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_GETFL}, []uintptr{3, unix.F_GETFL}},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_SETFD, unix.FD_CLOEXEC}, []uintptr{3, unix.F_SETFD, unix.FD_CLOEXEC}},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_DUPFD_CLOEXEC}, []uintptr{3, unix.F_DUPFD_CLOEXEC}},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_DUPFD_QUERY, 6}, []uintptr{3, unix.F_DUPFD_QUERY, 6}},
		{unix.SYS_UTIMENSAT, []uintptr{3, 0}, []uintptr{x, 0}},
		{unix.SYS_UTIMENSAT, []uintptr{3, 0x1000}, []uintptr{3, 0x1000}},
		{unix.SYS_FSTAT, []uintptr{3}, []uintptr{3}},
		{unix.SYS_FSTATFS, []uintptr{3}, []uintptr{3}},
		{unix.SYS_FCHDIR, []uintptr{3}, []uintptr{3}},
		{unix.SYS_CLOSE, []uintptr{3}, []uintptr{3}},
		{unix.SYS_DUP, []uintptr{3}, []uintptr{3}},
		{unix.SYS_OPENAT, []uintptr{3, 0x1000}, []uintptr{3, 0x1000}},
		{unix.SYS_READ, []uintptr{6}, []uintptr{6}},
		{unix.SYS_FCNTL, []uintptr{6, unix.F_SETFL, unix.O_NONBLOCK}, []uintptr{6, unix.F_SETFL, unix.O_NONBLOCK}},
		{unix.SYS_READ, []uintptr{99}, []uintptr{99}},
	} {
		var args, want [6]uintptr
		copy(args[:], c.a)
		copy(want[:], c.after)
		PathHide(c.nr, &args)
		assert.Equal(t, want, args, "call %d%v", c.nr, c.a)
	}
	assert.GreaterOrEqual(t, closedFD, fdtab.MaxFDs, "closedFD lies beyond the descriptor table")

	_, ok := FcntlFlagsUnlocked(3, unix.F_SETFL, unix.O_NONBLOCK)
	assert.False(t, ok, "F_SETFL on O_PATH: declined to the path with the lock")
	fl, ok := FcntlFlagsUnlocked(3, unix.F_GETFL, 0)
	assert.True(t, ok)
	assert.Equal(t, int64(unix.O_PATH), fl)
	assert.False(t, EpollCtlRefusedUnlocked(7, unix.EPOLL_CTL_DEL, 3, 0), "O_PATH: EBADF on the path with the lock, not EPERM")
	assert.True(t, EpollCtlRefusedUnlocked(7, unix.EPOLL_CTL_DEL, 6, 0), "a file: EPERM")
}

// TestPathLaterArg: pathLaterArg names every call that pathHiddenArgs
// lists with a descriptor after the first argument, so that PathHide's
// quick answer for the others misses none.
func TestPathLaterArg(t *testing.T) {
	for _, r := range pathHiddenArgs {
		if r.arg > 0 {
			assert.True(t, pathLaterArg(uint64(r.nr)), "call %d, argument %d", r.nr, r.arg)
		}
	}
	assert.False(t, pathLaterArg(unix.SYS_READ))
}

// TestPathHiddenSocketCalls: every socket call on a descriptor hides an
// O_PATH one (Linux's fdget does not find it: EBADF, not ENOTSOCK);
// accept comes as accept4 (package kernel's legacyCalls), so it needs
// no row of its own.
func TestPathHiddenSocketCalls(t *testing.T) {
	for _, nr := range []uint16{
		unix.SYS_BIND, unix.SYS_LISTEN, unix.SYS_CONNECT, unix.SYS_ACCEPT4, unix.SYS_SHUTDOWN,
		unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_SETSOCKOPT, unix.SYS_GETSOCKOPT,
		unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG,
	} {
		assert.Contains(t, pathHiddenArgs[:], pathHidden{nr: nr, arg: 0}, "call %d", nr)
	}
}
