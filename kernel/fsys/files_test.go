package fsys

import (
	"testing"

	"github.com/gometal/gometal/kernel/fs"
	"github.com/stretchr/testify/assert"
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
