package fdcalls

import (
	"testing"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestPathRefused: an O_PATH descriptor is refused where Linux's fdget
// refuses it, in the argument each call takes it in, and nowhere else:
// fstat, fstatfs, fchdir, close and dup take it; fcntl takes it for its
// dup and flag commands but F_SETFL; mmap only when the mapping is of the
// file. A descriptor opened without O_PATH passes everywhere. The
// lock-free flag and epoll_ctl paths decline an O_PATH descriptor, so
// that the path with the lock refuses it.
func TestPathRefused(t *testing.T) {
	saved, savedDescs := fdtab.Files, [2]vfs.Desc{vfs.Descs[4], vfs.Descs[5]}
	t.Cleanup(func() { fdtab.Files, vfs.Descs[4], vfs.Descs[5] = saved, savedDescs[0], savedDescs[1] })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	vfs.Descs[4] = vfs.Desc{Refs: 1, Ino: 9, Flags: unix.O_PATH}
	vfs.Descs[5] = vfs.Desc{Refs: 1, Ino: 9, Flags: unix.O_RDWR}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindFile, Desc: 4} // O_PATH
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindFile, Desc: 5} // read and write
	fdtab.Files[7] = fdtab.File{Kind: fdtab.KindEpoll}
	refused := func(nr uint64, a ...uintptr) bool {
		var args [6]uintptr
		copy(args[:], a)
		return PathRefused(nr, &args)
	}
	for _, c := range []struct {
		nr   uint64
		a    []uintptr
		want bool
	}{
		{unix.SYS_READ, []uintptr{3}, true},
		{unix.SYS_WRITE, []uintptr{3}, true},
		{unix.SYS_LSEEK, []uintptr{3}, true},
		{unix.SYS_FLOCK, []uintptr{3, unix.LOCK_SH}, true},
		{unix.SYS_FCHMOD, []uintptr{3}, true},
		{unix.SYS_IOCTL, []uintptr{3}, true},
		{unix.SYS_CONNECT, []uintptr{3}, true},
		{unix.SYS_SENDFILE, []uintptr{6, 3}, true},
		{unix.SYS_SENDFILE, []uintptr{3, 6}, true},
		{unix.SYS_SPLICE, []uintptr{6, 0, 3}, true},
		{unix.SYS_EPOLL_CTL, []uintptr{7, unix.EPOLL_CTL_ADD, 3}, true},
		{unix.SYS_EPOLL_CTL, []uintptr{3, unix.EPOLL_CTL_ADD, 6}, false},
		{unix.SYS_MMAP, []uintptr{0, 4096, unix.PROT_READ, unix.MAP_SHARED, 3}, true},
		{unix.SYS_MMAP, []uintptr{0, 4096, unix.PROT_READ, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, 3}, false},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_SETFL, unix.O_NONBLOCK}, true},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_SETLK}, true},
		{unix.SYS_FCNTL, []uintptr{3, 12345}, true},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_GETFL}, false},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_SETFD, unix.FD_CLOEXEC}, false},
		{unix.SYS_FCNTL, []uintptr{3, unix.F_DUPFD_CLOEXEC}, false},
		{unix.SYS_FSTAT, []uintptr{3}, false},
		{unix.SYS_FSTATFS, []uintptr{3}, false},
		{unix.SYS_FCHDIR, []uintptr{3}, false},
		{unix.SYS_CLOSE, []uintptr{3}, false},
		{unix.SYS_DUP, []uintptr{3}, false},
		{unix.SYS_OPENAT, []uintptr{3}, false},
		{unix.SYS_READ, []uintptr{6}, false},
		{unix.SYS_FCNTL, []uintptr{6, unix.F_SETFL, unix.O_NONBLOCK}, false},
		{unix.SYS_READ, []uintptr{99}, false}, // not open: the call's own EBADF
	} {
		assert.Equal(t, c.want, refused(c.nr, c.a...), "call %d%v", c.nr, c.a)
	}

	_, ok := FcntlFlagsUnlocked(3, unix.F_SETFL, unix.O_NONBLOCK)
	assert.False(t, ok, "F_SETFL on O_PATH: declined to the path with the lock")
	fl, ok := FcntlFlagsUnlocked(3, unix.F_GETFL, 0)
	assert.True(t, ok)
	assert.Equal(t, int64(unix.O_PATH), fl)
	assert.False(t, EpollCtlRefusedUnlocked(7, 3), "O_PATH: EBADF on the path with the lock, not EPERM")
	assert.True(t, EpollCtlRefusedUnlocked(7, 6), "a file: EPERM")
}
