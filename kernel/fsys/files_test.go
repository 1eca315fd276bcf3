package fsys

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestStatusFlags: a description keeps the status flags that Linux's
// open keeps and F_GETFL shows (measured on Linux 6.18, less the
// descriptor's O_NONBLOCK, which F_GETFL adds from fdtab).
func TestStatusFlags(t *testing.T) {
	for _, c := range []struct {
		name  string
		ino   int32
		flags int
		want  int
	}{
		{"file O_RDWR|O_APPEND", 5, unix.O_RDWR | unix.O_APPEND, 0x8402},
		{"the open-only flags go", 5, unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_NOCTTY | unix.O_CLOEXEC | unix.O_NOFOLLOW, 0x28002},
		{"O_SYNC", 5, unix.O_WRONLY | unix.O_SYNC, 0x109001},
		{"O_NOATIME", 5, unix.O_RDONLY | unix.O_NOATIME, 0x48000},
		{"directory", 5, unix.O_RDONLY | unix.O_DIRECTORY, 0x18000},
		{"/dev/null, O_NONBLOCK on the descriptor", 5, unix.O_WRONLY | unix.O_NONBLOCK, 0x8001},
		{"O_PATH", 5, unix.O_PATH, 0x200000},
		{"O_PATH|O_DIRECTORY|O_NOFOLLOW", 5, unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, 0x230000},
		{"pipe's read end", 0, unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC, 0},
		{"pipe's write end: O_DIRECT (packet mode) is not implemented, not shown", 0, unix.O_WRONLY | unix.O_DIRECT, 1},
		{"unknown bits go, bit 31 too", 5, unix.O_RDONLY | 0x800000 | -1<<31, 0x8000},
		{"__O_SYNC alone brings O_DSYNC", 5, unix.O_WRONLY | 0x100000, 0x109001},
	} {
		assert.Equal(t, c.want, statusFlags(fs.Ino(c.ino), c.flags), c.name)
	}
}

// TestPipeReadiness: a pipe end's epoll events, and those of a FIFO
// opened O_RDWR, which holds both ends, as Linux's pipe_poll: a reader's
// EPOLLIN while bytes are held and EPOLLHUP once no writer is left (an
// empty pipe at end of file: EPOLLHUP alone), a writer's EPOLLOUT while
// there is room and EPOLLERR once no reader is left; the O_RDWR
// description is a reader and a writer itself, so it sees both EPOLLIN
// and EPOLLOUT and neither EPOLLHUP nor EPOLLERR.
func TestPipeReadiness(t *testing.T) {
	saved := vfs.Pipes
	t.Cleanup(func() { vfs.Pipes = saved })
	vfs.Pipes = fs.Pipes{}
	m := &fs.Mem{Frames: fakeFrames(t, 32), Budget: 32}
	p, e := vfs.Pipes.NewFifo()
	require.Zero(t, e)
	both := &vfs.Desc{Pipe: int32(p), Flags: unix.O_RDWR}
	reader := &vfs.Desc{Pipe: int32(p), Reader: true, Flags: unix.O_RDONLY}
	writer := &vfs.Desc{Pipe: int32(p), Flags: unix.O_WRONLY}
	vfs.Pipes.Open(p, false) // the O_RDWR open: both ends
	vfs.Pipes.Open(p, true)
	assert.Equal(t, uint32(unix.EPOLLOUT), PipeReadiness(both), "empty")
	_, e = vfs.Pipes.Write(m, p, []byte("bytes"))
	require.Zero(t, e)
	assert.Equal(t, uint32(unix.EPOLLIN|unix.EPOLLOUT), PipeReadiness(both), "bytes held")
	assert.Equal(t, uint32(unix.EPOLLIN), PipeReadiness(reader))
	assert.Equal(t, uint32(unix.EPOLLOUT), PipeReadiness(writer))
	for room := true; room; room = vfs.Pipes.HasRoom(p) {
		_, e = vfs.Pipes.Write(m, p, make([]byte, fs.PipeBuf))
		require.Zero(t, e)
	}
	assert.Equal(t, uint32(unix.EPOLLIN), PipeReadiness(both), "full")
	vfs.Pipes.Close(m, p, true) // the read end goes: a writer of a full pipe sees EPOLLERR alone
	assert.Equal(t, uint32(unix.EPOLLERR), PipeReadiness(writer))
	vfs.Pipes.Open(p, true)
	vfs.Pipes.Close(m, p, false) // the write end goes: a reader sees EPOLLIN and EPOLLHUP
	assert.Equal(t, uint32(unix.EPOLLIN|unix.EPOLLHUP), PipeReadiness(reader))
	_, e = vfs.Pipes.Read(m, p, make([]byte, fs.PipeSize))
	require.Zero(t, e)
	assert.Equal(t, uint32(unix.EPOLLHUP), PipeReadiness(reader), "empty at end of file: EPOLLHUP alone")
}

// fakeFrames is a frame allocator over pages of host memory.
func fakeFrames(t *testing.T, pages int) *mm.Frames {
	buf := make([]byte, (pages+1)*fs.PageSize)
	t.Cleanup(func() { runtime.KeepAlive(buf) })
	f := new(mm.Frames)
	hostFrames(t, f, buf)
	return f
}

// hostFrames makes f a frame allocator over buf's whole pages (one page
// fewer than buf holds, for the alignment), at physical addresses from
// 0x100000 on.
func hostFrames(t *testing.T, f *mm.Frames, buf []byte) {
	const base = 0x100000
	start := (uintptr(unsafe.Pointer(&buf[0])) + fs.PageSize - 1) &^ (fs.PageSize - 1)
	*f = mm.Frames{DirectBase: start - base}
	require.True(t, f.AddRange(base, base+uint64(len(buf)/fs.PageSize-1)*fs.PageSize))
}

// TestBadTmpfileFlags: the O_TMPFILE flags Linux's build_open_flags
// refuses before it looks at the path, and O_PATH dropping them.
func TestBadTmpfileFlags(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags int
		bad   bool
	}{
		{"O_TMPFILE for writing", unix.O_TMPFILE | unix.O_RDWR, false},
		{"O_TMPFILE write-only", unix.O_TMPFILE | unix.O_WRONLY, false},
		{"O_TMPFILE read-only", unix.O_TMPFILE | unix.O_RDONLY, true},
		{"__O_TMPFILE without O_DIRECTORY", oTmpfileOnly | unix.O_RDWR, true},
		{"with O_CREAT", unix.O_TMPFILE | unix.O_RDWR | unix.O_CREAT, true},
		{"O_PATH drops it", unix.O_TMPFILE | unix.O_PATH, false},
		{"no O_TMPFILE", unix.O_DIRECTORY | unix.O_RDONLY, false},
	} {
		assert.Equal(t, c.bad, badTmpfileFlags(c.flags), c.name)
	}
}
