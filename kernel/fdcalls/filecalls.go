package fdcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/vfs"
	"golang.org/x/sys/unix"
)

// FileCall serves system call nr (read, write, pread64, pwrite64, lseek,
// fstat, getdents64, close, fsync, fdatasync, ftruncate) on descriptor fd, which
// names a file or directory of the root file system through description
// desc (the caller read both from the descriptor's word in one load:
// beside a shared hold another CPU may close fd and give its number to
// another open), with the arguments after the descriptor, as the locked
// path's handlers would. It is what package kernel's fileTrap runs under
// the files lock alone: it reaches only the file layer and the program's
// memory, never a thread, the scheduler, a socket, epoll or the kernel
// log (tools/trapcheck's TestGometalFileLockDomain checks that in the
// built image). A close whose file holds record locks goes to the locked
// path instead (it wakes their waiters), as does every call FileCall does
// not list (FileCallNr).
// Every one of them may run under the files lock held shared (package
// kernel's fileTrap holds it so): those that only read the file layer
// but for the description's offset (fstat, pread64, read, lseek, getdents64), write and pwrite64,
// which change only their file's data, under its data lock
// (fs.FS.Write; an appending write reads the size it writes at under
// that lock too: fileWrite), ftruncate, which changes its file under the
// file's data lock held exclusively (fs.FS.Truncate; a kernel file's
// answers fsys.RunAlone), fsync and fdatasync, which do nothing
// (memory is the only storage), and close. Held shared, a write whose pages do
// not fit what may still be charged answers NotFileCall, having changed
// nothing (vfs.ReserveMem), and a close frees the descriptor if it is
// still open on desc (else NotFileCall: another close or an open came
// first) and leaves the end of the description's last reference for the
// next hold alone (vfs.CloseShared, vfs.Reclaim).
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func FileCall(nr uint64, fd int, desc int32, a1, a2, a3 uintptr, shared bool) int64 {
	d := &vfs.Descs[desc]
	switch nr {
	case unix.SYS_READ, unix.SYS_PREAD64, unix.SYS_WRITE, unix.SYS_PWRITE64:
		return fileIO(nr, d, a1, a2, a3, shared)
	case unix.SYS_LSEEK:
		return descSeek(fdtab.KindFile, d, int64(a1), int(a2))
	case unix.SYS_FSTAT:
		s, e := vfs.Root.Stat(d.Ino)
		if e != 0 {
			return -int64(e)
		}
		return putStat(&s, a1)
	case unix.SYS_GETDENTS64:
		return fileGetdents(d, a1, a2)
	case unix.SYS_FTRUNCATE:
		return truncateDesc(d, int64(a1), shared)
	case unix.SYS_CLOSE: // held shared: fileTrap holds it so for every close of a file
		if !vfs.CloseShared(fd, desc) {
			return NotFileCall // fd changed since the caller looked: the locked path closes what it names now
		}
		return 0
	}
	return 0 // fsync, fdatasync: memory is the file system
}

// fileIO is read, pread64, write or pwrite64 (nr) of n bytes at buf; the
// positioned calls at pos (EINVAL if negative), the others at the
// description's offset. Context: trap, files lock held; does not
// allocate.
func fileIO(nr uint64, d *vfs.Desc, buf, n, pos uintptr, shared bool) int64 {
	off := int64(-1)
	if nr == unix.SYS_PREAD64 || nr == unix.SYS_PWRITE64 {
		if off = int64(pos); off < 0 {
			return -abi.EINVAL
		}
	}
	if nr == unix.SYS_READ || nr == unix.SYS_PREAD64 {
		if !fsys.CanRead(d) {
			return -abi.EBADF
		}
		return fileRead(d, buf, n, off)
	}
	if !fsys.CanWrite(d) {
		return -abi.EBADF
	}
	return fileWrite(d, buf, n, off, shared)
}

// NotFileCall is FileCall's answer, and package kernel's file-call
// handlers', for a call that the locked path must serve from the start
// (having changed nothing).
const NotFileCall = int64(-1) << 40

// MovesOffset reports whether FileCall's call nr moves the description's
// offset: read, write, lseek and getdents64, which under the files lock
// held shared hold the description's offset lock too
// (vfs.Desc.LockOffset). Context: any; does not allocate.
func MovesOffset(nr uint64) bool {
	return nr == unix.SYS_READ || nr == unix.SYS_WRITE || nr == unix.SYS_LSEEK || nr == unix.SYS_GETDENTS64
}

// FileCallNr reports whether FileCall serves system call nr.
// Context: any; does not allocate.
func FileCallNr(nr uint64) bool {
	switch nr {
	case unix.SYS_READ, unix.SYS_PREAD64, unix.SYS_WRITE, unix.SYS_PWRITE64, unix.SYS_LSEEK,
		unix.SYS_FSTAT, unix.SYS_GETDENTS64, unix.SYS_CLOSE, unix.SYS_FSYNC, unix.SYS_FDATASYNC,
		unix.SYS_FTRUNCATE:
		return true
	}
	return false
}
