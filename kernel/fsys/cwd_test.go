package fsys

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestSetCwdBeside: CPUs make directories the working directory under the
// files lock held shared (SetCwd, as chdir and fchdir beside other
// calls) while others resolve relative paths from it, and a directory
// is removed while it is the working directory: each working directory
// is held while it is one, and its hold ends once, so at the end, with
// the working directory back at the root, every directory removed
// frees its inode. Run with -race: a plain store of vfs.Cwd is reported
// beside the loads.
func TestSetCwdBeside(t *testing.T) {
	m := freshRoot(t)
	const cpus, rounds = 4, 400
	var dirs [cpus]fs.Ino
	for i := range dirs {
		var e fs.Errno
		dirs[i], e = vfs.Root.Create(m, fs.RootIno, []byte{'d', '0' + byte(i)}, unix.S_IFDIR|0o755, 0)
		require.Zero(t, e)
		_, e = vfs.Root.Create(m, dirs[i], []byte("f"), unix.S_IFREG|0o644, 0)
		require.Zero(t, e)
	}
	c := &percpu.CPU{ID: 0}
	klock.Files.Lock(c)
	require.Zero(t, SetCwd(c, dirs[0])) // from here on the working directory is always one of dirs, each with its f
	klock.Files.Unlock(c)
	var wg sync.WaitGroup
	var found atomic.Int32
	for n := range cpus {
		wg.Go(func() {
			c := &percpu.CPU{ID: n}
			for r := range rounds {
				since := klock.Files.RLock(c)
				if n%2 == 0 {
					if e := SetCwd(c, dirs[(n+r)%cpus]); e != 0 {
						t.Errorf("chdir beside others: %d", e)
					}
				} else {
					rm := vfs.ReadMem()
					var p fs.Path
					p.N = copy(p.Buf[:], "f")
					if f, e := vfs.Root.Resolve(&rm, fs.Ino(atomic.LoadInt32(&vfs.Cwd)), &p, true); e == 0 && f.Ino != 0 {
						found.Add(1)
					}
				}
				klock.Files.Release(c, true, since, 0)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(cpus/2*rounds), found.Load(), "every relative path resolved from the working directory of the instant")
	klock.Files.Lock(c)
	require.Zero(t, SetCwd(c, dirs[0]))
	klock.Files.Unlock(c)
	// d0, the working directory, removed: it stays held until the
	// working directory moves on.
	require.Zero(t, vfs.Root.Unlink(m, dirs[0], []byte("f")))
	require.Zero(t, vfs.Root.Rmdir(m, fs.RootIno, []byte("d0")))
	used := vfs.Root.InodesUsed
	klock.Files.Lock(c)
	require.Zero(t, SetCwd(c, fs.RootIno))
	klock.Files.Unlock(c)
	assert.Equal(t, used-1, vfs.Root.InodesUsed, "the removed working directory went with its hold")
	for i := 1; i < cpus; i++ {
		name := fmt.Sprintf("d%d", i)
		require.Zero(t, vfs.Root.Unlink(m, dirs[i], []byte("f")), name)
		require.Zero(t, vfs.Root.Rmdir(m, fs.RootIno, []byte(name)), name)
	}
	assert.Equal(t, int64(1), vfs.Root.InodesUsed, "every directory freed: none is held any more")
}

// TestSetCwdRemoved: beside other calls (the files lock held shared), a
// chdir into a directory removed since the call found it (an rmdir
// beside, which put it on the orphan list, having seen no hold) answers
// RunAlone, having changed nothing: the working directory stays, and
// the directory stays on the orphan list once, for a hold alone to free
// (a hold taken and ended outside vfs.Reclaim could have it freed
// twice). A working directory removed and then left beside others goes
// on the orphan list, not at once (a call beside may walk from it).
func TestSetCwdRemoved(t *testing.T) {
	m := freshRoot(t)
	gone, e := vfs.Root.Create(m, fs.RootIno, []byte("gone"), unix.S_IFDIR|0o755, 0)
	require.Zero(t, e)
	kept, e := vfs.Root.Create(m, fs.RootIno, []byte("kept"), unix.S_IFDIR|0o755, 0)
	require.Zero(t, e)
	beside := vfs.SharedMem()
	require.Zero(t, vfs.Root.Rmdir(&beside, fs.RootIno, []byte("gone")))
	require.True(t, vfs.Root.HasOrphans(), "removed beside others with no hold: an orphan")

	c0, c1 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}
	since1 := klock.Files.RLock(c1)
	since0 := klock.Files.RLock(c0)
	assert.Equal(t, RunAlone, SetCwd(c0, gone))
	assert.Equal(t, int32(fs.RootIno), atomic.LoadInt32(&vfs.Cwd), "unchanged")
	first := vfs.Root.TakeOrphans()
	assert.Equal(t, gone, first, "still on the list")
	vfs.Root.PutBackOrphans(first)

	require.Zero(t, SetCwd(c0, kept))
	used := vfs.Root.InodesUsed
	require.Zero(t, vfs.Root.Rmdir(&beside, fs.RootIno, []byte("kept")))
	require.Zero(t, SetCwd(c0, fs.RootIno))
	assert.Equal(t, used, vfs.Root.InodesUsed, "left beside others: not freed at once")
	klock.Files.Release(c0, true, since0, 0)
	klock.Files.Release(c1, true, since1, 0)

	klock.Files.Lock(c0)
	vfs.Reclaim(false)
	klock.Files.Unlock(c0)
	assert.False(t, vfs.Root.HasOrphans())
	assert.Equal(t, int64(1), vfs.Root.InodesUsed, "both freed once by a hold alone")
}

// freshRoot gives the test an empty root file system with the root as
// the working directory, held as the boot holds it (kfiles.EndRoot), and
// the kernel's frames over host memory; what was there comes back at the
// end. It returns a page source alone (vfs.Mem).
func freshRoot(t *testing.T) *fs.Mem {
	root, cwd := vfs.Root, vfs.Cwd
	t.Cleanup(func() { vfs.Root, vfs.Cwd = root, cwd })
	vfs.Root = fs.FS{}
	vfs.Root.Init()
	kernelFrames(t)
	vfs.Root.Hold(fs.RootIno)
	vfs.Cwd = int32(fs.RootIno)
	m := vfs.Mem()
	return &m
}

// kernelRAM backs the kernel's frames in this package's tests
// (kernelFrames).
var kernelRAM []byte

// kernelFrames makes the kernel's frames (vm.Frames, where vfs.Mem and
// vfs.ReadMem take pages) 64 pages of host memory, the first time it is
// called. They stay for the package's other tests: the frames hold a
// lock, which go vet does not let a test copy to put them back.
func kernelFrames(t *testing.T) {
	if kernelRAM != nil {
		return
	}
	kernelRAM = make([]byte, 65*fs.PageSize)
	hostFrames(t, &vm.Frames, kernelRAM)
}
