package fdcalls

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestLockRange: a struct flock's whence, start and length become the
// byte range [lo, hi) as Linux's fcntl locks read them: a length of 0
// runs to the end of the file, a negative one ends at start, and a range
// that begins before byte 0 or an unknown whence is EINVAL.
func TestLockRange(t *testing.T) {
	d := &vfs.Desc{Off: 100}
	cases := []struct {
		name          string
		whence        int
		start, length int64
		lo, hi, errno int64
	}{
		{"set", unix.SEEK_SET, 10, 5, 10, 15, 0},
		{"set to end", unix.SEEK_SET, 10, 0, 10, fs.ToEnd, 0},
		{"from the offset", unix.SEEK_CUR, -20, 10, 80, 90, 0},
		{"negative length", unix.SEEK_SET, 10, -4, 6, 10, 0},
		{"before byte 0", unix.SEEK_SET, 2, -4, 0, 0, -abi.EINVAL},
		{"offset below 0", unix.SEEK_CUR, -101, 1, 0, 0, -abi.EINVAL},
		{"bad whence", 7, 0, 1, 0, 0, -abi.EINVAL},
	}
	for _, c := range cases {
		lo, hi, e := lockRange(d, c.whence, c.start, c.length)
		assert.Equal(t, [3]int64{c.lo, c.hi, c.errno}, [3]int64{lo, hi, e}, c.name)
	}
}

// TestSeekPipeAndDevice: a pipe cannot seek (ESPIPE) and a device stays
// at offset 0, whatever is asked, as on Linux.
func TestSeekPipeAndDevice(t *testing.T) {
	assert.Equal(t, int64(-abi.ESPIPE), descSeek(&fdtab.File{Kind: fdtab.KindPipe}, 5, unix.SEEK_SET))
	assert.Equal(t, int64(0), descSeek(&fdtab.File{Kind: fdtab.KindDev}, 5, unix.SEEK_SET))
}

// TestFcntlFlags: fcntl's flag commands, which the files lock alone
// serves, on descriptors of several kinds: the close-on-exec flag, the
// status flags (O_RDWR for a descriptor without a description, as
// Linux's console; O_NONBLOCK set and cleared; a socket's O_NONBLOCK on
// every descriptor of the socket, which dup shares), EBADF for a bad
// descriptor, and the other commands left to SysFcntl.
func TestFcntlFlags(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fdtab.Files[1] = fdtab.File{Kind: fdtab.KindConsole, Stream: 1}
	fdtab.Files[5] = fdtab.File{Kind: fdtab.KindSocket, Socket: 7}
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindSocket, Socket: 7} // a dup of 5
	fdtab.Files[7] = fdtab.File{Kind: fdtab.KindSocket, Socket: 8}
	call := func(fd, cmd int, arg uintptr) int64 {
		t.Helper()
		r, ok := FcntlFlags(fd, cmd, arg)
		assert.True(t, ok, "fcntl(%d, %d) served", fd, cmd)
		return r
	}
	assert.Equal(t, int64(unix.O_RDWR), call(1, unix.F_GETFL, 0))
	assert.Equal(t, int64(0), call(1, unix.F_SETFL, unix.O_NONBLOCK|unix.O_APPEND))
	assert.True(t, fdtab.Files[1].Nonblock)
	assert.Equal(t, int64(unix.O_RDWR|unix.O_NONBLOCK), call(1, unix.F_GETFL, 0), "O_APPEND stays off without a description")
	assert.Equal(t, int64(0), call(1, unix.F_SETFL, 0))
	assert.Equal(t, int64(unix.O_RDWR), call(1, unix.F_GETFL, 0))

	assert.Equal(t, int64(0), call(1, unix.F_GETFD, 0))
	assert.Equal(t, int64(0), call(1, unix.F_SETFD, unix.FD_CLOEXEC))
	assert.Equal(t, int64(unix.FD_CLOEXEC), call(1, unix.F_GETFD, 0))

	call(5, unix.F_SETFL, unix.O_NONBLOCK)
	assert.True(t, fdtab.Files[6].Nonblock, "the socket's other descriptor")
	assert.False(t, fdtab.Files[7].Nonblock, "another socket")

	assert.Equal(t, int64(-abi.EBADF), call(9, unix.F_GETFL, 0))
	assert.Equal(t, int64(-abi.EBADF), call(-1, unix.F_SETFD, 0))
	for _, cmd := range []int{unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_SETLK, unix.F_GETLK, unix.F_OFD_SETLKW, unix.F_GETPIPE_SZ, 999} {
		_, ok := FcntlFlags(1, cmd, 0)
		assert.False(t, ok, "command %d is SysFcntl's", cmd)
	}
}
