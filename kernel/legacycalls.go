package kernel

import "golang.org/x/sys/unix"

// The path calls older than their at forms (open, creat, stat, lstat,
// access, readlink, mkdir, mknod, unlink, rmdir, rename, link, symlink,
// chmod, chown, lchown) are served as those forms, with AT_FDCWD for the
// directory descriptors and the flags each implies, as Linux serves
// them (its open is do_sys_open(AT_FDCWD, ...), its rmdir do_rmdir(AT_FDCWD,
// ...)), and so are pipe, as pipe2 with no flags (Linux's do_pipe2(fds,
// 0)), and accept, as accept4 with no flags (Linux's __sys_accept4(...,
// 0): accept's fourth register is not an argument): a row of legacyCalls each, rather than a handler each in
// syscallTable and fileCalls (twenty functions of the image, issue 16's
// budget). The call keeps its own number everywhere but in the dispatch
// (doSyscall, fileTrap, callLocks): /proc/gometal/sched counts it, and a
// restart runs it again, by the number the program gave.

// A legacyCall is a legacy path call nr and its at form at: the at
// form's arguments are nr's with val[k] put in at position pos[k] (the
// arguments from there on moving up one), in turn for each k whose pos
// is not noArg.
type legacyCall struct {
	nr, at uint16
	pos    [3]int8
	val    [3]int32
}

// noArg marks an unused insertion of a legacyCall.
const noArg = -1

// legacyCalls are the legacy path calls and how each becomes its at form.
var legacyCalls = [...]legacyCall{
	{unix.SYS_OPEN, unix.SYS_OPENAT, [3]int8{0, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_CREAT, unix.SYS_OPENAT, [3]int8{0, 2, noArg}, [3]int32{unix.AT_FDCWD, unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, 0}},
	{unix.SYS_STAT, unix.SYS_NEWFSTATAT, [3]int8{0, 3, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_LSTAT, unix.SYS_NEWFSTATAT, [3]int8{0, 3, noArg}, [3]int32{unix.AT_FDCWD, unix.AT_SYMLINK_NOFOLLOW, 0}},
	{unix.SYS_ACCESS, unix.SYS_FACCESSAT, [3]int8{0, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_READLINK, unix.SYS_READLINKAT, [3]int8{0, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_MKDIR, unix.SYS_MKDIRAT, [3]int8{0, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_MKNOD, unix.SYS_MKNODAT, [3]int8{0, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_UNLINK, unix.SYS_UNLINKAT, [3]int8{0, 2, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_RMDIR, unix.SYS_UNLINKAT, [3]int8{0, 2, noArg}, [3]int32{unix.AT_FDCWD, unix.AT_REMOVEDIR, 0}},
	{unix.SYS_RENAME, unix.SYS_RENAMEAT, [3]int8{0, 2, noArg}, [3]int32{unix.AT_FDCWD, unix.AT_FDCWD, 0}},
	{unix.SYS_LINK, unix.SYS_LINKAT, [3]int8{0, 2, 4}, [3]int32{unix.AT_FDCWD, unix.AT_FDCWD, 0}},
	{unix.SYS_SYMLINK, unix.SYS_SYMLINKAT, [3]int8{1, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_CHMOD, unix.SYS_FCHMODAT, [3]int8{0, noArg, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_CHOWN, unix.SYS_FCHOWNAT, [3]int8{0, 4, noArg}, [3]int32{unix.AT_FDCWD, 0, 0}},
	{unix.SYS_LCHOWN, unix.SYS_FCHOWNAT, [3]int8{0, 4, noArg}, [3]int32{unix.AT_FDCWD, unix.AT_SYMLINK_NOFOLLOW, 0}},
	{unix.SYS_PIPE, unix.SYS_PIPE2, [3]int8{1, noArg, noArg}, [3]int32{0, 0, 0}},
	{unix.SYS_ACCEPT, unix.SYS_ACCEPT4, [3]int8{3, noArg, noArg}, [3]int32{0, 0, 0}},
}

// maxLegacyNr is the highest legacy path call's number: every call
// above it (futex, epoll_pwait, openat, ...) is no legacy call, known
// without a look at the table.
const maxLegacyNr = unix.SYS_MKNOD

// legacyIndex returns call nr's row in legacyCalls, or -1 if it is no
// legacy path call. Context: any; does not allocate.
func legacyIndex(nr uint64) int {
	if nr > maxLegacyNr {
		return -1
	}
	for i := range legacyCalls {
		if uint64(legacyCalls[i].nr) == nr {
			return i
		}
	}
	return -1
}

// atCallNr returns the number of the call that serves call nr: its at
// form for a legacy path call, nr itself for any other.
// Context: any; does not allocate.
func atCallNr(nr uint64) uint64 {
	if i := legacyIndex(nr); i >= 0 {
		return uint64(legacyCalls[i].at)
	}
	return nr
}

// atForm returns the number of the call that serves call nr with
// arguments a, rewriting a into that call's arguments: a legacy path
// call's at form (legacyCalls), or nr with a as they are. Every argument
// the at form reads comes from the legacy call's own or its row (the
// flags included: unlink's 0, rmdir's AT_REMOVEDIR, link's 0), never
// from a register the legacy call does not use.
// Context: any; does not allocate.
func atForm(nr uint64, a *sysArgs) uint64 {
	i := legacyIndex(nr)
	if i < 0 {
		return nr
	}
	l := &legacyCalls[i]
	for k, p := range l.pos {
		if p >= 0 {
			copy(a[p+1:], a[p:len(a)-1])
			a[p] = uintptr(int64(l.val[k]))
		}
	}
	return uint64(l.at)
}
