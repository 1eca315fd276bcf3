package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/mm/mmtest"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLockClasses: the lock classes agree with what they dispatch to.
// tools/trapcheck's TestGometalFileLockDomain reads kernelOnlyCalls out
// of the image by value (two bytes a call); every kernel-only call has a
// handler, once; the calls served under the files lock
// alone are exactly those fdcalls.FileCall, fdcalls.StreamCall or fileCalls serves, none of
// them also marked kernel-only; an unlisted or out-of-range number takes
// both locks.
func TestLockClasses(t *testing.T) {
	assert.Equal(t, lockClass(0), lockBoth)
	assert.Equal(t, lockClass(1), lockKernelOnly)
	assert.Equal(t, lockClass(2), lockFilesFirst)
	seen := map[uint16]bool{}
	for _, nr := range kernelOnlyCalls {
		assert.False(t, seen[nr], "call %d listed twice", nr)
		seen[nr] = true
		assert.Less(t, int(nr), len(syscallTable), "call %d", nr)
		if int(nr) < len(syscallTable) {
			assert.NotNil(t, syscallTable[nr], "call %d is kernel-only but has no handler", nr)
		}
		assert.Equal(t, lockKernelOnly, callLocks(uint64(nr)), "call %d", nr)
	}
	for nr := range uint64(len(syscallTable) + 10) {
		at := atCallNr(nr) // a legacy path call is served as its at form
		desc, path := fdcalls.FileCallNr(at) || fdcalls.StreamCallNr(at), fileCallIndex(at) >= 0
		assert.False(t, desc && path, "call %d is in both", nr)
		assert.Equal(t, desc || path, callLocks(nr) == lockFilesFirst, "call %d", nr)
		if desc || path {
			assert.False(t, kernelOnly(nr), "call %d is served under the files lock and marked kernel-only", nr)
		}
	}
	assert.Equal(t, lockBoth, callLocks(1<<40))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MMAP), "the mmap family unmaps memory the files lock's path may use (kernel.memCall serves the calls that unmap no page first)")
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MUNMAP))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MADVISE))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MPROTECT))
	assert.Equal(t, lockKernelOnly, callLocks(unix.SYS_FUTEX))
}

// TestReadOnlyFileCalls: the calls fileTrap serves under the files lock
// held shared are exactly those that only read the file layer, and the
// writes that change only a file's data: the first readOnlyFileCalls of
// fileCalls (the stat and access calls, readlinkat, getcwd, statfs;
// stat, lstat, access and readlink come as their at forms), fstat,
// pread64, read, lseek and getdents64 of a file, write and pwrite64 of
// a description not opened O_APPEND (read, write, lseek and getdents64
// with the description's offset lock), close of a file with a link,
// and openat with flags that make and truncate nothing; every call that
// makes, removes or renames anything holds it exclusively, as do an
// appending write, an open that may create or truncate, and a close
// that may free its file.
func TestReadOnlyFileCalls(t *testing.T) {
	want := []uint64{
		unix.SYS_NEWFSTATAT, unix.SYS_STATX, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2,
		unix.SYS_READLINKAT, unix.SYS_GETCWD, unix.SYS_FSTATFS, unix.SYS_STATFS,
	}
	var got []uint64
	for _, c := range fileCalls[:readOnlyFileCalls] {
		got = append(got, c.nr)
	}
	assert.ElementsMatch(t, want, got)
	for _, nr := range []uint64{unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_ACCESS, unix.SYS_READLINK} {
		assert.Less(t, fileCallIndex(atCallNr(nr)), readOnlyFileCalls, "call %d reads only, as its at form", nr)
	}
	for _, nr := range []uint64{unix.SYS_OPENAT, unix.SYS_UNLINKAT, unix.SYS_MKDIRAT, unix.SYS_RENAMEAT2,
		unix.SYS_FCHMOD, unix.SYS_UTIMENSAT, unix.SYS_EPOLL_CTL, unix.SYS_FCNTL, unix.SYS_UMASK, unix.SYS_CHDIR} {
		i := fileCallIndex(nr)
		assert.GreaterOrEqual(t, i, readOnlyFileCalls, "call %d changes the file layer", nr)
	}
	const plain, appending = 5, 6 // two descriptions
	vfs.Descs[plain].Flags = unix.O_RDWR
	vfs.Descs[appending].Flags = unix.O_WRONLY | unix.O_APPEND
	t.Cleanup(func() { vfs.Descs[plain], vfs.Descs[appending] = vfs.Desc{}, vfs.Desc{} })
	f, fa := &fdtab.File{Kind: fdtab.KindFile, Desc: plain}, &fdtab.File{Kind: fdtab.KindFile, Desc: appending}
	for _, nr := range []uint64{unix.SYS_FSTAT, unix.SYS_PREAD64, unix.SYS_READ, unix.SYS_LSEEK, unix.SYS_GETDENTS64, unix.SYS_WRITE, unix.SYS_PWRITE64} {
		assert.True(t, fdcalls.SharedHold(nr, f), "call %d", nr)
	}
	for _, nr := range []uint64{unix.SYS_READ, unix.SYS_WRITE, unix.SYS_LSEEK, unix.SYS_GETDENTS64} {
		assert.True(t, fdcalls.MovesOffset(nr), "call %d moves the offset: it takes the offset lock", nr)
	}
	assert.False(t, fdcalls.MovesOffset(unix.SYS_PREAD64))
	assert.False(t, fdcalls.MovesOffset(unix.SYS_PWRITE64))
	for _, nr := range []uint64{unix.SYS_CLOSE, unix.SYS_FSYNC, unix.SYS_FDATASYNC} {
		assert.False(t, fdcalls.SharedHold(nr, f), "call %d on a description of no linked file", nr)
	}
	savedRoot := vfs.Root
	t.Cleanup(func() { vfs.Root = savedRoot })
	vfs.Root.Init()
	m := fs.Mem{Frames: mmtest.Frames(t, 8), Budget: 8}
	file, e := vfs.Root.Create(&m, fs.RootIno, []byte("f"), unix.S_IFREG|0o644, 0)
	require.Zero(t, e)
	vfs.Descs[plain].Ino = file // a file with a link: its close frees nothing
	assert.True(t, fdcalls.SharedHold(unix.SYS_CLOSE, f), "close of a linked file")
	vfs.Descs[plain].Ino = fs.RootIno
	assert.False(t, fdcalls.SharedHold(unix.SYS_CLOSE, f), "close of a directory: its end may drop its dead records")
	vfs.Root.Hold(file) // open: unlinking leaves it alive
	require.Zero(t, vfs.Root.Unlink(&m, fs.RootIno, []byte("f")))
	require.True(t, vfs.Root.IsRegular(file))
	vfs.Descs[plain].Ino = file
	assert.False(t, fdcalls.SharedHold(unix.SYS_CLOSE, f), "close of an unlinked file: its end frees it")
	for _, nr := range []uint64{unix.SYS_WRITE, unix.SYS_PWRITE64} {
		assert.False(t, fdcalls.SharedHold(nr, fa), "call %d on an O_APPEND description writes at the size", nr)
	}
	assert.True(t, fdcalls.SharedHold(unix.SYS_READ, fa))
	// openat holds it shared when it makes and truncates nothing.
	for _, flags := range []int{unix.O_RDONLY, unix.O_RDWR, unix.O_WRONLY | unix.O_CLOEXEC, unix.O_PATH, unix.O_DIRECTORY | unix.O_NOFOLLOW, unix.O_RDONLY | unix.O_NONBLOCK} {
		assert.True(t, fsys.OpensShared(flags), "open with %#x makes nothing", flags)
	}
	for _, flags := range []int{unix.O_CREAT | unix.O_WRONLY, unix.O_WRONLY | unix.O_TRUNC, unix.O_TMPFILE | unix.O_RDWR, unix.O_CREAT | unix.O_EXCL | unix.O_RDWR, unix.O_PATH | unix.O_CREAT} {
		assert.False(t, fsys.OpensShared(flags), "open with %#x may make or truncate a file", flags)
	}
}

// TestFileDescriptor: what fileTrap lets FileCall serve on a descriptor,
// read in one load: a file's, not a free slot's nor another kind's; not
// an O_PATH description's but for fstat and close (the locked path
// answers EBADF, as PathHide would have); a close that would drop record
// locks goes to the locked path, and under the files lock held shared
// so does a close whose end may free something (a directory's, an
// unlinked file's).
func TestFileDescriptor(t *testing.T) {
	savedFiles, savedDescs, savedRoot := fdtab.Files, vfs.Descs, vfs.Root
	t.Cleanup(func() { fdtab.Files, vfs.Descs, vfs.Root = savedFiles, savedDescs, savedRoot })
	fdtab.Files, vfs.Descs = [fdtab.MaxFDs]fdtab.File{}, [vfs.MaxDescs]vfs.Desc{}
	vfs.Root.Init()
	m := fs.Mem{Frames: mmtest.Frames(t, 8), Budget: 8}
	file, e := vfs.Root.Create(&m, fs.RootIno, []byte("f"), unix.S_IFREG|0o644, 0)
	require.Zero(t, e)
	open := func(ino fs.Ino, flags int32) int {
		d := vfs.AllocDesc(ino, int(flags))
		return fdtab.AllocDesc(fdtab.KindFile, 0, d)
	}
	fd, dir, path := open(file, unix.O_RDWR), open(fs.RootIno, unix.O_RDONLY), open(file, unix.O_PATH)
	got := func(fd int, nr uint64, shared bool) bool {
		f, desc := fileDescriptor(fd, nr, shared)
		if f != nil {
			assert.Equal(t, fdtab.Files[fd].Desc, desc)
		}
		return f != nil
	}
	assert.True(t, got(fd, unix.SYS_READ, true))
	assert.True(t, got(fd, unix.SYS_CLOSE, true), "a linked file's close frees nothing")
	assert.False(t, got(fd, unix.SYS_EPOLL_CTL, true), "not FileCall's")
	assert.False(t, got(99, unix.SYS_READ, true), "a free slot")
	assert.False(t, got(-1, unix.SYS_READ, true))
	assert.True(t, got(dir, unix.SYS_GETDENTS64, true))
	assert.False(t, got(dir, unix.SYS_CLOSE, true), "a directory's close may drop dead records")
	assert.True(t, got(dir, unix.SYS_CLOSE, false), "which the exclusive hold does at once")
	assert.True(t, got(path, unix.SYS_FSTAT, true))
	assert.True(t, got(path, unix.SYS_CLOSE, true))
	assert.False(t, got(path, unix.SYS_LSEEK, true), "O_PATH")
	assert.False(t, got(path, unix.SYS_READ, false), "O_PATH")
	require.Zero(t, vfs.Root.SetLock(file, fs.ProcessOwner, false, unix.F_WRLCK, 0, 10))
	assert.False(t, got(fd, unix.SYS_CLOSE, false), "its close drops record locks and wakes their waiters")
	require.Zero(t, vfs.Root.SetLock(file, fs.ProcessOwner, false, unix.F_UNLCK, 0, 10))
	vfs.Root.Hold(file)
	require.Zero(t, vfs.Root.Unlink(&m, fs.RootIno, []byte("f")))
	assert.False(t, got(fd, unix.SYS_CLOSE, true), "an unlinked file's close may free it")
	assert.True(t, got(fd, unix.SYS_CLOSE, false))
}
