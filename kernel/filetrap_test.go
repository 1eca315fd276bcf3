package kernel

import (
	"reflect"
	"testing"

	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
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
// held shared: the first readOnlyFileCalls of fileCalls, which only read
// the file layer (the stat and access calls, readlinkat, getcwd, statfs;
// stat, lstat, access and readlink come as their at forms), fstat,
// pread64, read, lseek and getdents64 of a file, write and pwrite64,
// appending ones too (read, write, lseek and getdents64 with the
// description's offset lock), fsync and fdatasync, every openat,
// mkdirat, mknodat, linkat, symlinkat, unlinkat (rmdir too), renameat,
// renameat2, truncate and utimensat, a close of a file or directory (a
// close leaves its description's end for later: vfs.CloseShared), and
// statfs and fstatfs but while such a close or an orphan waits, the
// chmod and chown calls, chdir, fchdir, umask, fcntl's flag commands,
// fallocate and pipe2 (pipe comes as pipe2), and the socket option and
// name calls, accept4 and connect on an Internet socket, and socket of one.
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
	var shared []uint64
	for i, c := range fileCalls {
		if fileCallShared(i, c.nr) {
			shared = append(shared, c.nr)
		}
	}
	assert.ElementsMatch(t, append(want, unix.SYS_OPENAT, unix.SYS_MKDIRAT, unix.SYS_MKNODAT, unix.SYS_LINKAT, unix.SYS_SYMLINKAT,
		unix.SYS_UNLINKAT, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_TRUNCATE, unix.SYS_UTIMENSAT, unix.SYS_FCHMOD,
		unix.SYS_FCHOWN, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_FCHOWNAT, unix.SYS_FCHDIR, unix.SYS_CHDIR, unix.SYS_UMASK,
		unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_CTL, unix.SYS_FCNTL, unix.SYS_FALLOCATE, unix.SYS_PIPE2,
		unix.SYS_SETSOCKOPT, unix.SYS_GETSOCKOPT, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_ACCEPT4, unix.SYS_SOCKET, unix.SYS_CONNECT,
		unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG), shared, "every call of fileCalls holds the files lock shared")
	for _, nr := range []uint64{unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_ACCESS, unix.SYS_READLINK} {
		assert.Less(t, fileCallIndex(atCallNr(nr)), readOnlyFileCalls, "call %d reads only, as its at form", nr)
	}
	for _, nr := range []uint64{unix.SYS_OPENAT, unix.SYS_UNLINKAT, unix.SYS_MKDIRAT, unix.SYS_RENAMEAT2,
		unix.SYS_FCHMOD, unix.SYS_UTIMENSAT, unix.SYS_EPOLL_CTL, unix.SYS_FCNTL, unix.SYS_UMASK, unix.SYS_CHDIR} {
		i := fileCallIndex(nr)
		assert.GreaterOrEqual(t, i, readOnlyFileCalls, "call %d changes the file layer", nr)
	}
	const plain = 5 // a description
	vfs.Descs[plain].Flags = unix.O_RDWR
	t.Cleanup(func() { vfs.Descs[plain] = vfs.Desc{} })
	// The calls on a file's descriptor that FileCall serves, every one
	// of them under the files lock held shared (ftruncate under the
	// file's data lock);
	// fallocate, which may take pages of a file others read, is
	// fileCalls' and exclusive, and fchmod fileCalls' and shared.
	for _, nr := range []uint64{unix.SYS_FSTAT, unix.SYS_PREAD64, unix.SYS_READ, unix.SYS_LSEEK, unix.SYS_GETDENTS64,
		unix.SYS_WRITE, unix.SYS_PWRITE64, unix.SYS_CLOSE, unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_FTRUNCATE} {
		assert.True(t, fdcalls.FileCallNr(nr), "call %d", nr)
	}
	for _, nr := range []uint64{unix.SYS_FALLOCATE, unix.SYS_FCHMOD} {
		assert.False(t, fdcalls.FileCallNr(nr), "call %d", nr)
		assert.True(t, fileCallShared(fileCallIndex(nr), nr), "call %d", nr)
	}
	for _, nr := range []uint64{unix.SYS_READ, unix.SYS_WRITE, unix.SYS_LSEEK, unix.SYS_GETDENTS64} {
		assert.True(t, fdcalls.MovesOffset(nr), "call %d moves the offset: it takes the offset lock", nr)
	}
	assert.False(t, fdcalls.MovesOffset(unix.SYS_PREAD64))
	assert.False(t, fdcalls.MovesOffset(unix.SYS_PWRITE64))
	// Every openat, mkdirat, mknodat, linkat, symlinkat and unlinkat
	// holds it shared (an open that must truncate a kernel file, an
	// unlink of a FIFO, a call whose charge does not fit answer
	// fsys.RunAlone), rmdir's too (unlinkat with AT_REMOVEDIR).
	for _, nr := range []uint64{unix.SYS_OPENAT, unix.SYS_MKDIRAT, unix.SYS_MKNODAT, unix.SYS_LINKAT, unix.SYS_SYMLINKAT, unix.SYS_UNLINKAT} {
		assert.True(t, fileCallShared(fileCallIndex(nr), nr), "call %d", nr)
	}
	// Every renameat, renameat2, truncate and utimensat holds it shared: one that
	// must run alone (a directory's rename, an exchange, a kernel file's
	// truncation) answers fsys.RunAlone.
	for _, nr := range []uint64{unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_TRUNCATE, unix.SYS_UTIMENSAT} {
		assert.True(t, fileCallShared(fileCallIndex(nr), nr), "call %d", nr)
	}
	for _, nr := range []uint64{unix.SYS_FCHMOD, unix.SYS_FCHOWN, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_FCHOWNAT} {
		assert.True(t, fileCallShared(fileCallIndex(nr), nr), "call %d changes a mode or owner under the file's data lock", nr)
	}
	for _, nr := range []uint64{unix.SYS_CHDIR, unix.SYS_FCHDIR, unix.SYS_UMASK} {
		assert.True(t, fileCallShared(fileCallIndex(nr), nr), "call %d swaps the working directory or the mask atomically", nr)
	}
	assert.True(t, fileCallShared(fileCallIndex(unix.SYS_FCNTL), unix.SYS_FCNTL), "fcntl's flag commands swap a descriptor's word")
	assert.True(t, fileCallShared(fileCallIndex(unix.SYS_FALLOCATE), unix.SYS_FALLOCATE), "fallocate charges its pages first and holds the file's data lock")
	// An epoll_wait or epoll_pwait that does not wait, and epoll_ctl,
	// hold it shared (the interest lists' own lock keeps them apart:
	// fdcalls.EpollWaitNow, fdcalls.EpollCtl).
	for _, nr := range []uint64{unix.SYS_EPOLL_WAIT, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_CTL} {
		assert.True(t, fileCallShared(fileCallIndex(nr), nr), "call %d", nr)
	}
	// statfs and fstatfs hold it shared but while a closed description
	// waits for its end: alone, they end it first, and count the inodes
	// and blocks a call alone would.
	statfs, fstatfs := fileCallIndex(unix.SYS_STATFS), fileCallIndex(unix.SYS_FSTATFS)
	assert.True(t, fileCallShared(statfs, unix.SYS_STATFS))
	assert.True(t, fileCallShared(fstatfs, unix.SYS_FSTATFS))
	fdtab.Files[9] = fdtab.File{Kind: fdtab.KindFile, Desc: plain}
	t.Cleanup(func() { fdtab.Files[9] = fdtab.File{}; vfs.Reclaim(false) })
	vfs.Descs[plain].Refs = 1
	require.True(t, vfs.CloseShared(9, plain))
	assert.False(t, fileCallShared(statfs, unix.SYS_STATFS), "a close waits")
	assert.False(t, fileCallShared(fstatfs, unix.SYS_FSTATFS), "a close waits")
	vfs.Reclaim(false)
	assert.True(t, fileCallShared(statfs, unix.SYS_STATFS), "ended")
	// So while a file or directory unlinked or removed beside others
	// waits on the orphan list (a free slot's number stands for it: the
	// list is only looked at).
	vfs.Root.PutBackOrphans(fs.MaxInodes - 1)
	assert.False(t, fileCallShared(statfs, unix.SYS_STATFS), "an orphan waits")
	assert.False(t, fileCallShared(fstatfs, unix.SYS_FSTATFS), "an orphan waits")
	require.Equal(t, fs.Ino(fs.MaxInodes-1), vfs.Root.TakeOrphans())
	assert.True(t, fileCallShared(statfs, unix.SYS_STATFS), "freed")
}

// TestFileDescriptor: fileDescriptor finds a file's descriptor with its
// description, read in one load, and declines what the locked path
// serves: a free number or one outside the table, a descriptor of
// another kind, a call FileCall does not serve, and a call other than
// fstat and close on an O_PATH description (a close and an open beside
// gave the number to it after fdcalls.PathHide looked).
func TestFileDescriptor(t *testing.T) {
	const plain, path = 5, 6
	vfs.Descs[plain].Flags = unix.O_RDWR
	vfs.Descs[path].Flags = unix.O_PATH
	saved := [3]fdtab.File{fdtab.Files[7], fdtab.Files[8], fdtab.Files[9]}
	t.Cleanup(func() {
		vfs.Descs[plain], vfs.Descs[path] = vfs.Desc{}, vfs.Desc{}
		fdtab.Files[7], fdtab.Files[8], fdtab.Files[9] = saved[0], saved[1], saved[2]
	})
	fdtab.Files[7] = fdtab.File{Kind: fdtab.KindFile, Desc: plain}
	fdtab.Files[8] = fdtab.File{Kind: fdtab.KindFile, Desc: path}
	fdtab.Files[9] = fdtab.File{Kind: fdtab.KindPipe, Desc: plain}
	assert.Equal(t, int32(plain), fileDescriptor(7, unix.SYS_READ))
	assert.Equal(t, int32(plain), fileDescriptor(7, unix.SYS_CLOSE))
	assert.Equal(t, int32(-1), fileDescriptor(7, unix.SYS_IOCTL), "not FileCall's")
	assert.Equal(t, int32(-1), fileDescriptor(9, unix.SYS_READ), "a pipe")
	assert.Equal(t, int32(-1), fileDescriptor(-1, unix.SYS_READ))
	assert.Equal(t, int32(-1), fileDescriptor(fdtab.MaxFDs, unix.SYS_READ))
	assert.Equal(t, int32(path), fileDescriptor(8, unix.SYS_FSTAT))
	assert.Equal(t, int32(path), fileDescriptor(8, unix.SYS_CLOSE))
	for _, nr := range []uint64{unix.SYS_READ, unix.SYS_LSEEK, unix.SYS_GETDENTS64, unix.SYS_FSYNC} {
		assert.Equal(t, int32(-1), fileDescriptor(8, nr), "call %d on an O_PATH description", nr)
	}
}

// TestFileCallsTakeNoThread: fileTrap runs fileCalls' handlers with no
// thread (sched.None), so none of them may be one of the handlers that
// tell the calls they serve apart by the thread's RestartNr.
func TestFileCallsTakeNoThread(t *testing.T) {
	byThread := []sysHandler{doFixed, doDup3, doPrlimit64, doTgkill, doNoFastCopy}
	for _, c := range fileCalls {
		for _, h := range byThread {
			assert.NotEqual(t, reflect.ValueOf(h).Pointer(), reflect.ValueOf(c.fn).Pointer(), "call %d", c.nr)
		}
	}
}
