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
