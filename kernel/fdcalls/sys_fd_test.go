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
