package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/stretchr/testify/assert"
)

// TestWaitKeyRanges: the kernel's own wait keys stay apart, kind from
// kind (a Unix socket's waiters once shared their keys with the console's
// writers, and a FIFO's openers with the file locks), and all lie in the
// kernel half, where no program futex word can be.
func TestWaitKeyRanges(t *testing.T) {
	type span struct {
		name     string
		lo, last uintptr
	}
	spans := []span{
		{"pipe", vfs.PipeKey(0), vfs.PipeKey(fs.MaxPipes - 1)},
		{"lock", vfs.LockKey(0), vfs.LockKey(fs.MaxInodes - 1)},
		{"unix", socket.UnixKey(0), socket.UnixKey(fs.MaxUnixSockets - 1)},
		{"vcon", vfs.VconWriteKeyBase, vfs.VconWriteKeyBase + 8*(console.VqCount-1)},
		{"fifo", fsys.FifoKey(0, false), fsys.FifoKey(fs.MaxPipes-1, true)},
	}
	for i, a := range spans {
		assert.GreaterOrEqual(t, a.lo, uintptr(vm.UserTop), "%s keys must be kernel addresses", a.name)
		assert.Less(t, a.last-a.lo, uintptr(vfs.KeyRange), "%s keys must fit their range", a.name)
		for _, b := range spans[:i] {
			assert.True(t, a.last < b.lo || b.last < a.lo, "%s and %s keys overlap", a.name, b.name)
		}
	}
}
