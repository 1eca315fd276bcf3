package fsys

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The system calls that take a path. Each copies the path, resolves it in
// the root file system (kernel/fs) from the working directory or a
// directory descriptor, and answers with Linux's errnos. Context (every
// function here): trap, files lock held, and the kernel lock too on the
// locked path (package kernel's fileCalls runs most of them under the
// files lock alone; SysOpenat's FIFO and device opens need the kernel
// lock); none allocates.

// SysOpenat opens a file, directory or device, creating a regular file
// for O_CREAT. The kernel's device files (/dev/mem, /dev/irq, the network
// control file) are matched by their exact path first. The devices that
// package kernel serves (/dev/irq, the kernel's generated files) it
// records in Device and answers OpenDevice, for package kernel to open.
// Context: trap, kernel lock held; does not allocate.
func SysOpenat(t sched.TID, dirfd int, path uintptr, flags int, mode uint32) int64 {
	if badTmpfileFlags(flags) {
		return -abi.EINVAL
	}
	var p fs.Path
	if e := copyPath(path, &p); e != 0 {
		return e
	}
	if dev := kernelDeviceAt(&p); dev != notKernelDevice {
		return openKernelDevice(dev, flags)
	}
	r, ino := openResolved(dirfd, &p, flags, mode, false)
	switch {
	case r != needKernel:
		return r
	case vfs.Root.Mode(ino)&unix.S_IFMT == unix.S_IFIFO:
		return openFifo(t, ino, flags)
	}
	return recordDevice(DeviceMemFile, ino, int(vfs.Root.Rdev(ino)&0xff), flags)
}

// OpenFile is SysOpenat under the files lock alone (package kernel's
// fileTrap), held shared, beside other calls, or (shared false)
// exclusively. It reports false for an open that needs the kernel lock:
// one of the kernel's device paths, a FIFO (the open waits for the other
// end) or a kernel-generated file (package kernel fills it). Held
// shared, it answers RunAlone for an open that must run alone
// (fs.NeedsExclusive: it would truncate a kernel file, or its create lost a
// race or found no inode), whose create's pages do not fit the charge
// taken beforehand (vfs.ReserveEntry), or that finds every description
// taken (closed ones may wait for their end, or be on their way there:
// vfs.Reclaim). The
// resolution then changed
// nothing that the second one would not: no file is created where one
// exists, and O_TRUNC of a FIFO or a kernel file is the same either
// time. Context: trap, files lock held; does not allocate.
func OpenFile(dirfd int, path uintptr, flags int, mode uint32, shared bool) (int64, bool) {
	if badTmpfileFlags(flags) {
		return -abi.EINVAL, true
	}
	var p fs.Path
	if e := copyPath(path, &p); e != 0 {
		return e, true
	}
	if kernelDeviceAt(&p) != notKernelDevice {
		return 0, false
	}
	r, _ := openResolved(dirfd, &p, flags, mode, shared)
	return r, r != needKernel
}

// needKernel is openResolved's answer for a file whose open needs the
// kernel lock: a FIFO, a kernel-generated file.
const needKernel int64 = -1<<32 - 2

// RunAlone is the answer beside others (the files lock held shared) of
// OpenFile, UnlinkFile, MkdirFile, SysMknodat, SysLinkat, SysSymlinkat,
// RenameFile and TruncateFile for a call that must run alone
// (fs.NeedsExclusive), as vfs.PipeWriteNow's for a write that would
// take a page: it changed nothing a program can see, and package
// kernel's fileTrap runs it again under the files lock held
// exclusively.
const RunAlone = vfs.RunAlone

// kernelDevice names one of the kernel's device files, which opens
// match by their exact path before the file system.
type kernelDevice uint8

const (
	notKernelDevice kernelDevice = iota
	kernelDevMem                 // /dev/mem
	kernelDevIRQ                 // /dev/irq
	kernelDevNetCtl              // abi.NetCtlPath
)

// kernelDeviceAt returns the kernel device file p names, or
// notKernelDevice. Context: trap; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func kernelDeviceAt(p *fs.Path) kernelDevice {
	switch string(p.Buf[:p.N]) {
	case "/dev/mem":
		return kernelDevMem
	case "/dev/irq":
		return kernelDevIRQ
	case abi.NetCtlPath:
		return kernelDevNetCtl
	}
	return notKernelDevice
}

// openKernelDevice opens one of the kernel's device files.
// Context: trap, kernel lock held; does not allocate.
func openKernelDevice(dev kernelDevice, flags int) int64 {
	switch dev {
	case kernelDevMem:
		if fd := fdtab.Alloc(fdtab.KindDevMem, flags); fd >= 0 {
			return int64(fd)
		}
		return -abi.EMFILE
	case kernelDevIRQ:
		return recordDevice(DeviceIRQ, 0, 0, flags)
	}
	return socket.OpenNetCtl(flags)
}

// openResolved opens the file at p in the root file system and makes its
// descriptor; for a FIFO (unless O_PATH) or a kernel-generated file it
// answers needKernel and the inode instead, and beside others (shared)
// RunAlone where the open must run alone (OpenFile).
// Context: trap, files lock held (shared: held shared); does not
// allocate.
func openResolved(dirfd int, p *fs.Path, flags int, mode uint32, shared bool) (int64, fs.Ino) {
	if flags&unix.O_PATH == 0 && flags&oTmpfileOnly != 0 {
		return -int64(unix.EOPNOTSUPP), 0 // no unnamed files (badTmpfileFlags checked the flags)
	}
	start := fs.Ino(atomic.LoadInt32(&vfs.Cwd))
	if p.N > 0 && p.Buf[0] != '/' {
		var e int64
		if start, e = startDir(dirfd); e != 0 {
			return e, 0
		}
	}
	if shared && !vfs.DescLeft() {
		return RunAlone, 0 // alone, the closed descriptions end first (vfs.Reclaim): ENFILE only if none is free then
	}
	creates := flags&unix.O_CREAT != 0
	m, fits := callMem(shared, creates)
	if !fits {
		return RunAlone, 0
	}
	ino, _, e := vfs.Root.Open(&m, start, p, flags, mode&^atomic.LoadUint32(&vfs.Umask))
	callDone(&m, shared, creates)
	switch {
	case e == fs.NeedsExclusive:
		return RunAlone, 0
	case e != 0:
		return -int64(e), 0
	case flags&unix.O_PATH == 0 && kernelOpen(ino):
		return needKernel, ino
	}
	return openIno(ino, flags), 0
}

// callMem returns the page source of a path call that may change names
// (open, mkdir, mknod, link, symlink, unlink, rename): the locked path's (vfs.Mem) for a call alone,
// and beside others (shared) one that may add a directory entry,
// charged beforehand (vfs.ReserveEntry: false where the charge does not
// fit), for a call that creates, and otherwise one that takes no page.
// callDone ends it. Context: trap, files lock held; does not allocate.
func callMem(shared, creates bool) (fs.Mem, bool) {
	switch {
	case !shared:
		return vfs.Mem(), true
	case creates:
		return vfs.ReserveEntry()
	}
	return vfs.SharedMem(), true
}

// callDone charges what a call took from callMem's page source m (the
// same shared and creates): for one that created beside others, the
// charge taken beforehand less what it did not take.
// Context: trap, files lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func callDone(m *fs.Mem, shared, creates bool) {
	if shared && creates {
		m.Taken -= m.Budget // ReserveEntry charged it: Done gives back what the call did not take
	}
	vfs.Done(m)
}

// kernelOpen reports whether opening ino (not O_PATH) needs the kernel
// lock: a FIFO, a kernel-generated file.
// Context: trap; does not allocate.
func kernelOpen(ino fs.Ino) bool {
	switch vfs.Root.Mode(ino) & unix.S_IFMT {
	case unix.S_IFIFO:
		return true
	case unix.S_IFREG:
		return vfs.Root.Rdev(ino)&KernelFileMark != 0
	}
	return false
}

// oTmpfileOnly is Linux's __O_TMPFILE, O_TMPFILE without O_DIRECTORY.
const oTmpfileOnly = unix.O_TMPFILE &^ unix.O_DIRECTORY

// badTmpfileFlags reports whether an open's flags ask for an unnamed
// file the way Linux's build_open_flags refuses (EINVAL) before it
// looks at the path: __O_TMPFILE without O_DIRECTORY, with O_CREAT, or
// read-only. O_PATH drops the other flags first. Context: any; does not
// allocate.
func badTmpfileFlags(flags int) bool {
	return flags&unix.O_PATH == 0 && flags&oTmpfileOnly != 0 &&
		(flags&(unix.O_TMPFILE|unix.O_CREAT) != unix.O_TMPFILE || flags&unix.O_ACCMODE == unix.O_RDONLY)
}

// openIno makes a descriptor for an inode that open resolved, which is
// neither a FIFO nor a kernel-generated file unless O_PATH. O_DIRECT is
// for regular files (the memory file system's, as Linux's tmpfs): a
// directory or a device refuses it (EINVAL), as on Linux.
// Context: trap, files lock held; does not allocate.
func openIno(ino fs.Ino, flags int) int64 {
	mode, rdev := vfs.Root.Mode(ino), vfs.Root.Rdev(ino)
	if flags&unix.O_PATH != 0 {
		return NewDescFD(fdtab.KindFile, ino, flags&(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC))
	}
	kind := uint8(fdtab.KindFile)
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		if rdev == ProcFDMark {
			kind = fdtab.KindProcFD
		}
	case unix.S_IFCHR:
		switch rdev {
		case DevNull, DevZero, DevFull, DevRandom, DevURandom, DevKmsg:
			kind = fdtab.KindDev
		default:
			return -int64(unix.ENXIO) // no driver (Linux's chrdev_open)
		}
	default:
		return -int64(unix.ENXIO) // a socket's name (Linux's no_open)
	}
	if flags&unix.O_DIRECT != 0 && mode&unix.S_IFMT != unix.S_IFREG {
		return -abi.EINVAL // after the open itself, as Linux's do_dentry_open
	}
	return NewDescFD(kind, ino, flags)
}

// SysNewfstatat is stat, lstat and fstatat (AT_SYMLINK_NOFOLLOW,
// AT_EMPTY_PATH). AT_EMPTY_PATH on a descriptor that is no file of the
// file system answers StatDescriptor: package kernel describes it
// (fstat dispatches by descriptor kind).
// Context: trap, files lock held; does not allocate.
func SysNewfstatat(dirfd int, path, st uintptr, flags int) int64 {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT) != 0 {
		return -abi.EINVAL
	}
	ino, e := statTarget(dirfd, path, flags)
	if e != 0 || ino == 0 {
		if e == 1 {
			return StatDescriptor
		}
		return e
	}
	b, ok := vm.UserBytes(st, fs.StatSize, true)
	if !ok {
		return -abi.EFAULT
	}
	s, _ := vfs.Root.Stat(ino)
	fs.PutStat(b, &s)
	return 0
}

// statTarget resolves the file a stat call names; 1 means "the
// descriptor dirfd itself, which is no file of the file system".
// Context: trap, files lock held; does not allocate.
func statTarget(dirfd int, path uintptr, flags int) (fs.Ino, int64) {
	var p fs.Path
	m := vfs.ReadMem()
	found, e := resolveAt(&m, dirfd, path, &p, flags&unix.AT_SYMLINK_NOFOLLOW == 0, flags&unix.AT_EMPTY_PATH != 0)
	if e == -abi.EBADF && p.N == 0 && fdtab.Get(dirfd) != nil {
		return 0, 1
	}
	if e != 0 {
		return 0, e
	}
	if found.Ino == 0 {
		return 0, -abi.ENOENT
	}
	return found.Ino, 0
}

// SysStatx fills a struct statx (every basic field and the birth time).
// AT_EMPTY_PATH on a descriptor that is no file of the file system
// answers StatDescriptor, as SysNewfstatat does; PutStatxMode then fills
// the buffer from the mode package kernel finds.
// Context: trap, files lock held; does not allocate.
func SysStatx(dirfd int, path uintptr, flags int, buf uintptr) int64 {
	const syncFlags = unix.AT_STATX_FORCE_SYNC | unix.AT_STATX_DONT_SYNC
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|syncFlags) != 0 {
		return -abi.EINVAL
	}
	ino, e := statTarget(dirfd, path, flags)
	if e == 1 {
		return StatDescriptor
	}
	if e != 0 {
		return e
	}
	b, ok := vm.UserBytes(buf, fs.StatxSize, true)
	if !ok {
		return -abi.EFAULT
	}
	s, _ := vfs.Root.Stat(ino)
	fs.PutStatx(b, &s)
	return 0
}

// SysFaccessat checks that a file exists; the program runs as root, so
// only execute permission can be missing (no x bit at all on a file).
// Context: trap, files lock held; does not allocate.
func SysFaccessat(dirfd int, path uintptr, mode, flags int) int64 {
	if mode&^7 != 0 || flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EACCESS|unix.AT_EMPTY_PATH) != 0 {
		return -abi.EINVAL
	}
	ino, e := statTarget(dirfd, path, flags)
	if e == 1 {
		return 0
	}
	if e != 0 {
		return e
	}
	md := vfs.Root.Mode(ino)
	if mode&unix.X_OK != 0 && md&unix.S_IFMT != unix.S_IFDIR && md&0o111 == 0 {
		return -int64(unix.EACCES)
	}
	return 0
}

// MkdirFile is mkdirat(2) under the files lock, held exclusively (the
// locked path's and fileTrap's) or (shared) shared, beside other calls
// (makeNode). Context: trap, files lock held (shared: held shared);
// does not allocate.
func MkdirFile(dirfd int, path uintptr, mode uint32, shared bool) int64 {
	return makeNode(dirfd, path, unix.S_IFDIR|mode&0o1777, nil, shared) // set-id bits dropped, as Linux's mkdir does
}

// makeNode makes the file of mode (its type and permissions, less the
// umask) at path, with target for a symbolic link, under the files
// lock, held exclusively or (shared) shared, beside other calls: mkdir,
// mknod, symlink. It adds the entry under the directory's data lock
// (fs.FS.Create, fs.FS.Symlink), with the pages charged first
// (vfs.ReserveEntry). Beside others it answers RunAlone, having changed
// nothing a program can see, where the charge does not fit or no inode
// is free (orphans may hold them). A trailing slash is a directory's
// only (newEntryAt). Context: trap, files lock held (shared: held
// shared); does not allocate.
func makeNode(dirfd int, path uintptr, mode uint32, target []byte, shared bool) int64 {
	m, fits := callMem(shared, true)
	if !fits {
		return RunAlone
	}
	var p fs.Path
	typ := mode & unix.S_IFMT
	found, e := newEntryAt(&m, dirfd, path, &p, typ == unix.S_IFDIR)
	fe := fs.Errno(0)
	switch {
	case e != 0:
	case typ == unix.S_IFLNK:
		_, fe = vfs.Root.Symlink(&m, found.Dir, found.Name, target)
	default:
		_, fe = vfs.Root.Create(&m, found.Dir, found.Name, typ|(mode&^atomic.LoadUint32(&vfs.Umask))&0o7777, 0)
	}
	callDone(&m, shared, true)
	return madeAnswer(e, fe, shared)
}

// madeAnswer is the answer of a call that makes an entry (mkdir, mknod,
// link, symlink): e, the path's errno, where it did not resolve; else
// fe, the file layer's, but RunAlone for ENOSPC beside others (shared),
// where the inodes or pages that orphans and closes waiting for a call
// alone hold may be what is missing.
// Context: trap; does not allocate.
func madeAnswer(e int64, fe fs.Errno, shared bool) int64 {
	switch {
	case e != 0:
		return e
	case shared && fe == fs.ENOSPC:
		return RunAlone
	}
	return -int64(fe)
}

// SysMknodat is mknodat(2) under the files lock, held exclusively (the
// locked path's, the system call table's entry, and fileTrap's) or
// shared, beside other calls (this CPU not its exclusive holder:
// klock.Handle.HeldBy; makeNode). It makes a regular file (S_IFREG or
// type 0), a named pipe (S_IFIFO, whose pipe is made at its first open)
// or a socket's file (S_IFSOCK, which nothing listens on); a directory
// is EPERM and another type EINVAL, as Linux answers, and a device
// EPERM too: this kernel makes no device nodes but its own /dev's.
// Context: trap, files lock held; does not allocate.
func SysMknodat(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	mode := uint32(a[2])
	switch mode & unix.S_IFMT {
	case 0:
		mode |= unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFDIR, unix.S_IFCHR, unix.S_IFBLK:
		return -abi.EPERM
	default:
		return -abi.EINVAL
	}
	return makeNode(int(int32(a[0])), a[1], mode, nil, !klock.Files.HeldBy(c))
}

// newEntryAt resolves the path at addr for a call that makes a new entry
// there: EEXIST when something exists; a trailing slash on the missing
// name is ENOENT unless slashOK (mkdir), as Linux answers.
// Context: trap, files lock held; does not allocate.
func newEntryAt(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path, slashOK bool) (fs.Found, int64) {
	found, e := resolveEntryAt(m, dirfd, addr, p)
	switch {
	case e != 0:
		return fs.Found{}, e
	case found.Ino != 0:
		return fs.Found{}, -abi.EEXIST
	case found.Slash && !slashOK:
		return fs.Found{}, -abi.ENOENT
	}
	return found, 0
}

// UnlinkFile is unlinkat(2), or with AT_REMOVEDIR rmdir, under the files
// lock, held exclusively (the locked path's and fileTrap's) or (shared)
// shared, beside other calls.
// Beside others it changes the directories under their data locks
// (fs.FS.Unlink, fs.FS.Rmdir), and a file it unlinks last, or a
// directory it removes, waits on the orphan list (vfs.Reclaim); it
// answers RunAlone, having changed nothing, where the unlink must run
// alone: the name of a FIFO, a device or a socket.
// Context: trap, files lock held (shared: held shared); does not
// allocate.
func UnlinkFile(dirfd int, path uintptr, flags int, shared bool) int64 {
	if flags&^unix.AT_REMOVEDIR != 0 {
		return -abi.EINVAL
	}
	m, _ := callMem(shared, false) // a page source that takes no page always fits
	var p fs.Path
	found, e := resolveEntryAt(&m, dirfd, path, &p)
	if e != 0 {
		return e
	}
	if found.Ino == 0 {
		return -abi.ENOENT
	}
	var fe fs.Errno
	switch {
	case flags&unix.AT_REMOVEDIR == 0 && (found.Dir == 0 || found.Slash && vfs.Root.IsDir(found.Ino)):
		fe = unix.EISDIR
	case flags&unix.AT_REMOVEDIR == 0 && found.Slash:
		fe = unix.ENOTDIR
	case found.Dir == 0 && string(found.Name) == "..":
		fe = unix.ENOTEMPTY
	case found.Dir == 0 && found.Ino == fs.RootIno:
		fe = unix.EBUSY
	case found.Dir == 0:
		fe = unix.EINVAL
	case flags&unix.AT_REMOVEDIR != 0:
		fe = vfs.Root.Rmdir(&m, found.Dir, found.Name)
	default:
		fe = vfs.Root.Unlink(&m, found.Dir, found.Name)
	}
	vfs.Done(&m)
	if fe == fs.NeedsExclusive {
		return RunAlone
	}
	return -int64(fe)
}

// RenameFile is renameat2(2) (RENAME_NOREPLACE, RENAME_EXCHANGE) under
// the files lock, held exclusively (the locked path's and fileTrap's) or
// (shared) shared, beside other calls: it changes the directories under
// their data locks (fs.FS.Rename), with the new directory's page charged
// first (vfs.ReserveEntry). Beside others it answers RunAlone, having
// changed nothing a program can see, where the rename must run alone
// (an exchange; a directory, a FIFO, a device or a socket moved or
// replaced) or the charge does not fit.
// Context: trap, files lock held (shared: held shared); does not
// allocate.
func RenameFile(olddirfd int, oldpath uintptr, newdirfd int, newpath uintptr, flags uint32, shared bool) int64 {
	m, fits := callMem(shared, true)
	if !fits {
		return RunAlone
	}
	var op, np fs.Path
	from, e := resolveEntryAt(&m, olddirfd, oldpath, &op)
	to := from
	if e == 0 {
		to, e = resolveEntryAt(&m, newdirfd, newpath, &np)
	}
	fe := fs.Errno(0)
	switch {
	case e != 0:
	case from.Ino == 0:
		fe = unix.ENOENT
	case from.Dir == 0 || to.Dir == 0:
		fe = unix.EBUSY
	case (from.Slash || to.Slash) && !vfs.Root.IsDir(from.Ino):
		fe = unix.ENOTDIR
	default:
		fe = vfs.Root.Rename(&m, from.Dir, from.Name, to.Dir, to.Name, flags)
	}
	callDone(&m, shared, true)
	switch {
	case e != 0:
		return e
	case fe == fs.NeedsExclusive || shared && fe == fs.ENOSPC:
		return RunAlone
	}
	return -int64(fe)
}

// SysLinkat is linkat(2) under the files lock, held exclusively or
// shared (SysMknodat): it adds the entry under the directory's data lock
// and counts the link under the file's (fs.FS.Link), with the
// directory's page charged first (vfs.ReserveEntry), answering RunAlone
// beside others where the charge does not fit or the page could not be
// had (madeAnswer). Context: trap, files lock held; does not allocate.
func SysLinkat(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	olddirfd, oldpath, newdirfd, newpath, flags := int(int32(a[0])), a[1], int(int32(a[2])), a[3], int(int32(a[4]))
	shared := !klock.Files.HeldBy(c)
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return -abi.EINVAL
	}
	m, fits := callMem(shared, true)
	if !fits {
		return RunAlone
	}
	var op, np fs.Path
	from, e := resolveAt(&m, olddirfd, oldpath, &op, flags&unix.AT_SYMLINK_FOLLOW != 0, flags&unix.AT_EMPTY_PATH != 0)
	switch {
	case e != 0:
	case from.Ino == 0:
		e = -abi.ENOENT
	case from.Slash && !vfs.Root.IsDir(from.Ino):
		e = -int64(unix.ENOTDIR)
	}
	fe := fs.Errno(0)
	if e == 0 {
		var to fs.Found
		if to, e = newEntryAt(&m, newdirfd, newpath, &np, false); e == 0 {
			fe = vfs.Root.Link(&m, from.Ino, to.Dir, to.Name)
		}
	}
	callDone(&m, shared, true)
	return madeAnswer(e, fe, shared)
}

// SysSymlinkat is symlinkat(2) under the files lock, held exclusively
// or shared (SysMknodat; makeNode): the link holds its target before its
// entry is added (fs.FS.Symlink), and the charge taken first covers both
// pages (vfs.ReserveEntry). Context: trap, files lock held; does not
// allocate.
func SysSymlinkat(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	var tp fs.Path
	if e := copyPath(a[0], &tp); e != 0 {
		return e
	}
	if tp.N == 0 {
		return -abi.ENOENT // an empty target, before the link's path is looked at (Linux's getname)
	}
	return makeNode(int(int32(a[1])), a[2], unix.S_IFLNK, tp.Buf[:tp.N], !klock.Files.HeldBy(c))
}

// SysReadlinkat copies a symbolic link's target (not NUL-terminated).
// Context: trap, files lock held; does not allocate.
func SysReadlinkat(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	dirfd, path, buf, size := int(int32(a[0])), a[1], a[2], int(int32(a[3]))
	if size <= 0 {
		return -abi.EINVAL
	}
	var p fs.Path
	m := vfs.ReadMem()
	found, e := resolveAt(&m, dirfd, path, &p, false, true)
	if e != 0 {
		return e
	}
	if found.Ino == 0 {
		return -abi.ENOENT
	}
	if vfs.Root.Mode(found.Ino)&unix.S_IFMT != unix.S_IFLNK {
		return -abi.EINVAL
	}
	n := min(size, int(vfs.Root.Size(found.Ino)))
	b, ok := vm.UserBytes(buf, uintptr(n), true)
	if !ok {
		return -abi.EFAULT
	}
	k, _ := vfs.Root.Readlink(&m, found.Ino, b)
	return int64(k)
}

// SetAttrAt sets permissions by path (fchmodat(2), fchmodat2(2); mode
// masked to 0o7777 by the caller, so that it never reads as
// fs.KeepMode, which sets none) and the owner (fchownat(2); uid, gid -1:
// kept; AT_SYMLINK_NOFOLLOW: lchown), under the files lock held
// exclusively or shared, beside other calls (this CPU, c, not its
// exclusive holder: klock.Handle.HeldBy): under the file's data lock
// (fs.FS.SetAttr, vfs.AttrNow). Context: trap, files lock held; does
// not allocate.
func SetAttrAt(c *percpu.CPU, dirfd int, path uintptr, flags int, mode uint32, uid, gid int32) int64 {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return -abi.EINVAL
	}
	ino, e := statTarget(dirfd, path, flags)
	if e == 1 {
		return 0
	}
	if e != 0 {
		return e
	}
	if mode != fs.KeepMode && vfs.Root.Mode(ino)&unix.S_IFMT == unix.S_IFLNK {
		return -int64(unix.EOPNOTSUPP) // links have no mode of their own (fchmodat2 with AT_SYMLINK_NOFOLLOW)
	}
	return -int64(vfs.Root.SetAttr(vfs.AttrNow(!klock.Files.HeldBy(c)), ino, mode, uid, gid))
}

// SysFchownat is fchownat(2) (SetAttrAt).
// Context: trap, files lock held; does not allocate.
func SysFchownat(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return SetAttrAt(c, int(int32(a[0])), a[1], int(int32(a[4])), fs.KeepMode, int32(a[2]), int32(a[3]))
}

// SetAttrFD is fchmod(2) (mode, masked to 0o7777 by the caller; uid and
// gid -1) and fchown(2) (mode fs.KeepMode) on descriptor fd, under the
// files lock held exclusively or shared, as SetAttrAt (fdFile; a device's
// descriptor changes its node's). Context: trap, files lock held; does
// not allocate.
func SetAttrFD(c *percpu.CPU, fd int, mode uint32, uid, gid int32) int64 {
	ino, r := fdFile(fd, true)
	if ino == 0 {
		return r
	}
	return -int64(vfs.Root.SetAttr(vfs.AttrNow(!klock.Files.HeldBy(c)), ino, mode, uid, gid))
}

// fdFile returns the file of descriptor fd for a call that changes it
// under the files lock held shared or exclusively (futimens, fchmod,
// fchown): it reads the descriptor's kind and description in one load
// (fdtab.LoadFlags), as closes and opens of files may change the table
// beside it. Where there is none it returns 0 and the call's answer:
// EBADF for a free number or an O_PATH description (one since PathHide
// looked: a close and an open beside, as Linux's fdget), and 0 (nothing
// to change) for a descriptor of another kind than a file, or a device
// where dev is set. Context: trap, files lock held; does not allocate.
func fdFile(fd int, dev bool) (fs.Ino, int64) {
	w, _ := fdtab.LoadFlags(fd)
	switch {
	case w.Kind() == fdtab.KindFree:
		return 0, -abi.EBADF
	case w.Kind() != fdtab.KindFile && (!dev || w.Kind() != fdtab.KindDev):
		return 0, 0
	}
	d := vfs.DescAt(w.Desc())
	if d.Flags&unix.O_PATH != 0 {
		return 0, -abi.EBADF
	}
	return d.Ino, 0
}

// Special tv_nsec values of utimensat.
const (
	utimeNow  = 1<<30 - 1
	utimeOmit = 1<<30 - 2
)

// UtimensatFile is utimensat(2): it sets access and modification times; a null path means
// dirfd's own file (futimens). Linux 6.18's order: the times are read
// first (EFAULT; both UTIME_OMIT: nothing to do, nothing else looked
// at), then the file (futimens: no flags, then the descriptor; a path:
// the flags, then the path, which must not be null: EFAULT), then
// whether the times are valid (EINVAL). It runs under the files lock
// held exclusively (the locked path's and fileTrap's) or (shared)
// shared, beside other calls: the times change under the file's data
// lock (fs.FS.SetTimes), a call beside others stamping its own instant,
// and futimens reads its descriptor's kind and description in one load
// (fdtab.LoadFlags), since closes and opens of files may change the
// table beside it.
// Context: trap, files lock held (shared: held shared); does not
// allocate.
func UtimensatFile(a abi.SysArgs, shared bool) int64 {
	dirfd, path, times, flags := int(int32(a[0])), a[1], a[2], int(int32(a[3]))
	var ts [4]uint64 // the atime's seconds and nanoseconds, the mtime's
	if times != 0 {
		for i := range ts {
			v, ok := vm.UserRead64(times + uintptr(i)*8)
			if !ok {
				return -abi.EFAULT
			}
			ts[i] = v
		}
		if ts[1] == utimeOmit && ts[3] == utimeOmit {
			return 0
		}
	}
	var ino fs.Ino
	if path == 0 && dirfd != unix.AT_FDCWD {
		if flags != 0 {
			return -abi.EINVAL
		}
		var r int64
		if ino, r = fdFile(dirfd, false); ino == 0 {
			return r
		}
	} else {
		if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
			return -abi.EINVAL
		}
		if path == 0 {
			return -abi.EFAULT
		}
		var e int64
		if ino, e = statTarget(dirfd, path, flags); e == 1 {
			return 0
		} else if e != 0 {
			return e
		}
	}
	// The access and the modification time, each with UTIME_NOW
	// (fs.ChangeTime: the change's own instant, which SetTimes takes
	// under the file's data lock) and UTIME_OMIT; EINVAL for nanoseconds
	// out of range, the access time's looked at first.
	tv := [2]int64{fs.ChangeTime, fs.ChangeTime}
	for k := range tv {
		sec, nsec := ts[2*k], ts[2*k+1]
		switch {
		case times == 0:
		case nsec == utimeNow:
		case nsec == utimeOmit:
			tv[k] = fs.Omit
		case nsec >= 1e9:
			return -abi.EINVAL
		default:
			tv[k] = int64(sec)*1e9 + int64(nsec)
		}
	}
	now := vfs.RealtimeNs()
	m := fs.Mem{Now: max(now, 1)} // beside others: the change time is the call's own instant (Mem.Shared)
	if !shared {
		vfs.Root.Now, m.Now = now, 0 // the change time: UTIME_NOW's instant, as Linux stamps both
	}
	return -int64(vfs.Root.SetTimes(&m, ino, tv[0], tv[1]))
}

// TruncateFile is truncate(2), a file's size set by path, under the
// files lock held exclusively (the locked path's and fileTrap's) or
// (shared) shared, beside other calls: the file changes under its data
// lock (fs.FS.Truncate), and a kernel file's truncation answers
// RunAlone, having changed nothing.
// Context: trap, files lock held (shared: held shared); does not
// allocate.
func TruncateFile(path uintptr, length int64, shared bool) int64 {
	if length < 0 {
		return -abi.EINVAL // Linux's first check, before the path
	}
	ino, e := statTarget(unix.AT_FDCWD, path, 0)
	if e != 0 {
		return e
	}
	return TruncateIno(ino, length, shared)
}

// TruncateIno sets file ino's size to length, under the files lock held
// exclusively or (shared) shared: the truncate calls' common part
// (TruncateFile; ftruncate in kernel/fdcalls). The file changes under
// its data lock (fs.FS.Truncate); a kernel file's truncation beside
// others answers RunAlone, having changed nothing.
// Context: trap, files lock held (shared: held shared); does not
// allocate.
func TruncateIno(ino fs.Ino, length int64, shared bool) int64 {
	m, _ := callMem(shared, false) // a page source that takes no page always fits
	fe := vfs.Root.Truncate(&m, ino, length)
	callDone(&m, shared, false)
	if fe == fs.NeedsExclusive {
		return RunAlone
	}
	return -int64(fe)
}

// SysChdir changes the working directory, under the files lock held
// exclusively (on the locked path too: the system call table's entry)
// or shared (SetCwd). Context: trap, files lock held; does not
// allocate.
func SysChdir(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	path := a[0]
	ino, e := statTarget(unix.AT_FDCWD, path, 0)
	if e != 0 {
		return e
	}
	if !vfs.Root.IsDir(ino) {
		return -int64(unix.ENOTDIR)
	}
	return SetCwd(c, ino)
}

// SysFchdir makes an open directory the working directory (an O_PATH
// one too, as Linux's fdget_raw), under the files lock held exclusively
// or shared (SetCwd): it reads the descriptor's kind and
// description in one load (fdtab.LoadFlags), as closes and opens of
// files may change the table beside it.
// Context: trap, files lock held (and the kernel lock on the locked path); does not allocate.
func SysFchdir(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	w, _ := fdtab.LoadFlags(int(int32(a[0])))
	switch {
	case w.Kind() == fdtab.KindFree:
		return -abi.EBADF
	case w.Kind() != fdtab.KindFile || !vfs.Root.IsDir(vfs.DescAt(w.Desc()).Ino):
		return -int64(unix.ENOTDIR)
	}
	return SetCwd(c, vfs.DescAt(w.Desc()).Ino)
}

// SetCwd makes ino the working directory, holding it, so that a removed
// working directory stays valid and reads empty, and ends the hold of
// the one before, under the files lock held exclusively or shared
// (klock.Files.HeldBy on CPU c), and returns 0. Beside other calls it
// swaps vfs.Cwd atomically, as the paths resolved beside load it, and a
// directory removed meanwhile whose last hold that was goes on the
// orphan list (fs.FS.Drop with a page source beside others): a call
// beside may still walk from it. A directory with no link (removed
// since the call found it, or held open by the descriptor of an fchdir)
// it does not take beside others: it may wait on the orphan list, which
// a hold alone is freeing (vfs.Reclaim), and a hold that ended there
// outside it could have it freed twice. It ends the hold it took and
// answers RunAlone (the link count is looked at after the hold, and an
// rmdir looks at the holds after the link count, so either this call
// sees the directory removed or the rmdir sees it held and leaves it off
// the list). Context: trap, files lock held (shared: held shared); does
// not allocate. Not inlined: one copy for chdir and fchdir (issue 16's
// budget).
//
//go:noinline
func SetCwd(c *percpu.CPU, ino fs.Ino) int64 {
	shared := !klock.Files.HeldBy(c)
	vfs.Root.Hold(ino)
	m, _ := callMem(shared, false) // a page source that takes no page always fits
	if st, _ := vfs.Root.Stat(ino); shared && st.Nlink == 0 {
		vfs.Root.Drop(&m, ino)
		callDone(&m, shared, false)
		return RunAlone
	}
	old := fs.Ino(atomic.SwapInt32(&vfs.Cwd, int32(ino)))
	vfs.Root.Drop(&m, old)
	callDone(&m, shared, false)
	return 0
}

// SysGetcwd writes the working directory's path and returns its length
// with the NUL; ENOENT once the directory was removed.
// Context: trap, files lock held; does not allocate.
func SysGetcwd(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	buf, size := a[0], a[1]
	var p fs.Path
	m := vfs.ReadMem()
	n, fe := vfs.Root.PathOf(&m, fs.Ino(atomic.LoadInt32(&vfs.Cwd)), p.Buf[:])
	if fe != 0 {
		return -int64(fe)
	}
	if uintptr(n+1) > size {
		return -int64(unix.ERANGE)
	}
	b, ok := vm.UserBytes(buf, uintptr(n+1), true)
	if !ok {
		return -abi.EFAULT
	}
	copy(b, p.Buf[len(p.Buf)-n:])
	b[n] = 0
	return int64(n + 1)
}

// SysStatfs describes the file system holding a path (or an open file):
// tmpfs, sized by the memory the program may still commit.
// Context: trap, files lock held; does not allocate.
func SysStatfs(buf uintptr) int64 {
	ub, ok := vm.UserBytes(buf, 120, true)
	if !ok {
		return -abi.EFAULT
	}
	b := (*[120]byte)(ub) // one length check, not one per field
	clear(b[:])
	m := vfs.ReadMem()
	free := uint64(max(m.Budget, 0))
	total := free + uint64(atomic.LoadInt64(&vfs.Root.PagesHeld)) // writes may run beside
	le := binary.LittleEndian
	le.PutUint64(b[0:], unix.TMPFS_MAGIC)
	le.PutUint64(b[8:], fs.PageSize)
	le.PutUint64(b[16:], total)
	le.PutUint64(b[24:], free)
	le.PutUint64(b[32:], free)
	le.PutUint64(b[40:], fs.MaxInodes)
	le.PutUint64(b[48:], uint64(fs.MaxInodes-atomic.LoadInt64(&vfs.Root.InodesUsed))) // creates and unlinks may run beside
	le.PutUint64(b[64:], fs.NameMax)
	le.PutUint64(b[72:], fs.PageSize)
	return 0
}

// SysStatfsPath is statfs(2): the path must exist.
// Context: trap, files lock held; does not allocate.
func SysStatfsPath(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	path, buf := a[0], a[1]
	if _, e := statTarget(unix.AT_FDCWD, path, 0); e != 0 {
		return e
	}
	return SysStatfs(buf)
}
