//go:build linux && amd64

package fs

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestStatFields(t *testing.T) {
	e := newEnv(t, 64)
	e.fs.Now = 5e9
	f := e.create("/f", repeat("s", PageSize+1))
	st := e.stat(f)
	assert.Equal(t, f, st.Ino)
	assert.Equal(t, uint32(unix.S_IFREG|0o644), st.Mode)
	assert.Equal(t, uint32(1), st.Nlink)
	assert.Equal(t, int64(PageSize+1), st.Size)
	assert.Equal(t, int64(16), st.Blocks)
	assert.Equal(t, int64(5e9), st.Btime)
	root := e.stat(RootIno)
	assert.Equal(t, RootIno, root.Ino)
	assert.Equal(t, uint32(unix.S_IFDIR|0o755), root.Mode)
	assert.Equal(t, int64(1e9), root.Btime, "the root was made at Init")
}

// TestPutStatLayout decodes PutStat's bytes as the host's struct stat.
func TestPutStatLayout(t *testing.T) {
	require.Equal(t, int(unsafe.Sizeof(unix.Stat_t{})), StatSize)
	st := Stat{
		Ino: 0x1234, Mode: unix.S_IFCHR | 0o620, Nlink: 7, UID: 1001, GID: 1002, Rdev: 4<<8 | 64,
		Size: 0x1_0000_0001, Blocks: 24,
		Atime: 1_700_000_000_123_456_789, Mtime: 2_000_000_001, Ctime: -1, Btime: 42,
	}
	b := make([]byte, StatSize+8)
	for i := range b {
		b[i] = 0xcc
	}
	PutStat(b, &st)
	assert.Equal(t, byte(0xcc), b[StatSize], "nothing past the struct")
	var u unix.Stat_t
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&u)), StatSize), b)
	assert.Equal(t, uint64(Dev), u.Dev)
	assert.Equal(t, uint64(0x1234), u.Ino)
	assert.Equal(t, uint64(7), u.Nlink)
	assert.Equal(t, uint32(unix.S_IFCHR|0o620), u.Mode)
	assert.Equal(t, uint32(1001), u.Uid)
	assert.Equal(t, uint32(1002), u.Gid)
	assert.Equal(t, uint64(4<<8|64), u.Rdev)
	assert.Equal(t, uint32(4), unix.Major(u.Rdev))
	assert.Equal(t, uint32(64), unix.Minor(u.Rdev))
	assert.Equal(t, int64(0x1_0000_0001), u.Size)
	assert.Equal(t, int64(PageSize), u.Blksize)
	assert.Equal(t, int64(24), u.Blocks)
	assert.Equal(t, unix.Timespec{Sec: 1_700_000_000, Nsec: 123_456_789}, u.Atim)
	assert.Equal(t, unix.Timespec{Sec: 2, Nsec: 1}, u.Mtim)
	assert.Equal(t, unix.Timespec{Sec: -1, Nsec: 999_999_999}, u.Ctim, "negative times: non-negative nanoseconds")
	assert.Equal(t, make([]byte, 4), b[36:40], "padding is zero")
	assert.Equal(t, make([]byte, 24), b[120:144], "reserved is zero")
}

// TestPutStatxLayout decodes PutStatx's bytes as the host's struct statx.
func TestPutStatxLayout(t *testing.T) {
	require.LessOrEqual(t, StatxSize, int(unsafe.Sizeof(unix.Statx_t{})))
	st := Stat{
		Ino: 99, Mode: unix.S_IFDIR | 0o1777, Nlink: 3, UID: 5, GID: 6, Rdev: 1<<8 | 3,
		Size: 4096, Blocks: 8,
		Atime: 10_000_000_001, Mtime: 20_000_000_002, Ctime: 30_000_000_003, Btime: -2_500_000_000,
	}
	b := make([]byte, StatxSize)
	for i := range b {
		b[i] = 0xcc
	}
	PutStatx(b, &st)
	var u unix.Statx_t
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&u)), StatxSize), b)
	assert.Equal(t, uint32(unix.STATX_BASIC_STATS|unix.STATX_BTIME), u.Mask)
	assert.Equal(t, uint32(PageSize), u.Blksize)
	assert.Zero(t, u.Attributes)
	assert.Zero(t, u.Attributes_mask)
	assert.Equal(t, uint32(3), u.Nlink)
	assert.Equal(t, uint32(5), u.Uid)
	assert.Equal(t, uint32(6), u.Gid)
	assert.Equal(t, uint16(unix.S_IFDIR|0o1777), u.Mode)
	assert.Equal(t, uint64(99), u.Ino)
	assert.Equal(t, uint64(4096), u.Size)
	assert.Equal(t, uint64(8), u.Blocks)
	assert.Equal(t, unix.StatxTimestamp{Sec: 10, Nsec: 1}, u.Atime)
	assert.Equal(t, unix.StatxTimestamp{Sec: 20, Nsec: 2}, u.Mtime)
	assert.Equal(t, unix.StatxTimestamp{Sec: 30, Nsec: 3}, u.Ctime)
	assert.Equal(t, unix.StatxTimestamp{Sec: -3, Nsec: 500_000_000}, u.Btime)
	assert.Equal(t, uint32(1), u.Rdev_major)
	assert.Equal(t, uint32(3), u.Rdev_minor)
	assert.Equal(t, uint32(Dev>>8), u.Dev_major)
	assert.Equal(t, uint32(Dev&0xff), u.Dev_minor)
	assert.Zero(t, u.Mnt_id)
	assert.Equal(t, make([]byte, StatxSize-144), b[144:], "the rest is zero")
}
