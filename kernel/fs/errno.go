package fs

import "golang.org/x/sys/unix"

// Errno is a Linux error number (positive); 0 means success.
type Errno = unix.Errno

// The errors the file system returns, with Linux's numbers.
const (
	ok           Errno = 0
	EPERM              = unix.EPERM
	ENOENT             = unix.ENOENT
	EBADF              = unix.EBADF
	EAGAIN             = unix.EAGAIN
	EACCES             = unix.EACCES
	EEXIST             = unix.EEXIST
	EXDEV              = unix.EXDEV
	ENOTDIR            = unix.ENOTDIR
	EISDIR             = unix.EISDIR
	EINVAL             = unix.EINVAL
	ENFILE             = unix.ENFILE
	EFBIG              = unix.EFBIG
	ENOSPC             = unix.ENOSPC
	EMLINK             = unix.EMLINK
	ENAMETOOLONG       = unix.ENAMETOOLONG
	ENOTEMPTY          = unix.ENOTEMPTY
	ELOOP              = unix.ELOOP
	EBUSY              = unix.EBUSY
	ENOLCK             = unix.ENOLCK
	EPIPE              = unix.EPIPE
	EDEADLK            = unix.EDEADLK
)

// NeedsExclusive is the answer of a call that runs beside others
// (Mem.Shared) where it would have to do what only a call alone may
// (truncate a kernel file, retry a create that lost a race, free a slot
// an orphan holds): it has changed nothing a program can see, and the caller runs it again
// under the files lock held exclusively. It is no Linux errno.
const NeedsExclusive Errno = 1 << 12
