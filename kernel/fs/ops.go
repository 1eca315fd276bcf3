package fs

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The operations behind the path system calls. Each takes names already
// resolved by Resolve (a directory and a last component) and checks what
// Linux checks, returning its errno. Context: trap (or boot, for the
// initramfs); none of them allocates.

// isDot reports whether name is "." or "..".
func isDot(name []byte) bool { return string(name) == "." || string(name) == ".." }

// Create makes a file of mode (type and permissions; rdev for devices)
// named name in directory dir, under dir's data lock: a create or unlink
// beside it (Mem.Shared) changes dir under that lock too, and path
// lookups read it under it. (One function with its unlocks, not a
// locked helper: issue 16's image budget.)
// Context: trap or boot; does not allocate.
func (fs *FS) Create(m *Mem, dir Ino, name []byte, mode, rdev uint32) (Ino, Errno) {
	return fs.create(m, dir, name, mode, rdev, nil)
}

// create is Create, with data the new file's first bytes (a symbolic
// link's target), written before its entry is added: a call beside it
// (Mem.Shared) that finds the file by its name finds them too. Context:
// trap or boot; does not allocate.
func (fs *FS) create(m *Mem, dir Ino, name []byte, mode, rdev uint32, data []byte) (Ino, Errno) {
	dp := fs.node(dir)
	isDir := mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case dp == nil || atomic.LoadUint32(&dp.nlink) == 0: // mkdirs in it may run beside (Mem.Shared)
		return 0, ENOENT
	case atomic.LoadUint32(&dp.mode)&unix.S_IFMT != unix.S_IFDIR:
		return 0, ENOTDIR
	case len(name) > NameMax:
		return 0, ENAMETOOLONG
	case len(name) == 0 || isDot(name):
		return 0, EEXIST
	}
	lockData(dp)
	ino, e := Ino(0), EEXIST
	switch _, found := lookup(m, dp, name); {
	case dp.nlink == 0: // removed since the look above (Rmdir)
		e = ENOENT
	case found:
	case isDir && dp.nlink >= maxLinks:
		e = EMLINK
	default:
		ino, e = fs.newInode(m, mode)
	}
	if e != ok {
		unlockData(dp)
		return 0, e
	}
	ip := &fs.inodes[ino]
	ip.nlink, ip.rdev = 1, rdev
	if isDir {
		ip.nlink, ip.parent = 2, dir
		atomic.AddUint32(&dp.nlink, 1) // a look without dp's lock loads it (above, PathOf)
	}
	if n, _ := fs.writeData(m, ip, 0, data); n != len(data) {
		e = ENOSPC
	} else {
		e = fs.addEntry(m, dp, name, ino)
	}
	if e != ok {
		if isDir {
			atomic.AddUint32(&dp.nlink, ^uint32(0))
		}
		fs.free(m, ino, ip) // no other call has seen it
		ino = 0
	}
	unlockData(dp)
	return ino, e
}

// Symlink makes a symbolic link name in dir pointing at target, which
// it holds before its name is added (create): beside others (Mem.Shared)
// no lookup finds the link without it.
// Context: trap or boot; does not allocate.
func (fs *FS) Symlink(m *Mem, dir Ino, name, target []byte) (Ino, Errno) {
	switch {
	case len(target) == 0:
		return 0, ENOENT
	case len(target) >= PathMax:
		return 0, ENAMETOOLONG
	}
	return fs.create(m, dir, name, unix.S_IFLNK|0o777, 0, target)
}

// Readlink copies the target of symbolic link ino into dst and returns
// its length (truncated to len(dst), as readlink(2) does).
// Context: trap; does not allocate.
func (fs *FS) Readlink(m *Mem, ino Ino, dst []byte) (int, Errno) {
	ip := fs.node(ino)
	if ip == nil {
		return 0, ENOENT
	}
	if atomic.LoadUint32(&ip.mode)&unix.S_IFMT != unix.S_IFLNK {
		return 0, EINVAL
	}
	return readData(m, ip, 0, dst), ok
}

// Unlink removes the entry name (not a directory) from dir, under
// dir's data lock (Create says why). A call beside others (Mem.Shared)
// unlinks only a regular file or a symbolic link (NeedsExclusive for a
// FIFO, a device or a socket, which the kernel's other tables may name),
// and a file it unlinks last waits on the orphan list (Reclaim). The
// link count changes under the file's own data lock (Stat reads it
// there; an unlink of another of its names, in another directory, may
// run beside), and only the unlink that takes it to zero releases the
// file. Context: trap; does not allocate.
func (fs *FS) Unlink(m *Mem, dir Ino, name []byte) Errno {
	dp := fs.node(dir)
	if dp == nil || !fs.IsDir(dir) {
		return ENOTDIR
	}
	if isDot(name) {
		return EISDIR
	}
	lockData(dp)
	r, found := lookup(m, dp, name)
	ip := &fs.inodes[r.ino]
	typ := atomic.LoadUint32(&ip.mode) & unix.S_IFMT
	e := ok
	switch {
	case !found:
		e = ENOENT
	case typ == unix.S_IFDIR:
		e = EISDIR
	case m.Shared() && typ != unix.S_IFREG && typ != unix.S_IFLNK:
		e = NeedsExclusive
	}
	if e != ok {
		unlockData(dp)
		return e
	}
	fs.removeEntry(m, dp, name)
	lockData(ip)
	last := atomic.AddUint32(&ip.nlink, ^uint32(0)) == 0 // release loads it without the lock
	ip.ctime = fs.stampOf(m, ip)
	unlockData(ip)
	unlockData(dp)
	if last {
		fs.release(m, r.ino)
	}
	return ok
}

// Rmdir removes the empty directory name from dir, under both
// directories' data locks, taken in the order of their numbers as
// Rename takes its two. It finds the directory without them (FS.child)
// and looks the name up again under them; where a call beside this one
// (Mem.Shared) removed or replaced it between, it starts over. A create
// in the directory (Create) or a rename into it takes its lock and
// finds it either still holding what it holds or gone (its link count
// 0: ENOENT). A directory removed beside others waits on the orphan
// list (release), keeping its ".." for a call that found it before.
// Context: trap; does not allocate.
func (fs *FS) Rmdir(m *Mem, dir Ino, name []byte) Errno {
	dp := fs.node(dir)
	switch {
	case dp == nil || !fs.IsDir(dir):
		return ENOTDIR
	case string(name) == ".":
		return EINVAL
	case string(name) == "..":
		return ENOTEMPTY
	}
	for {
		c := fs.child(m, dir, name)
		switch {
		case c == 0:
			return ENOENT
		case !fs.IsDir(c):
			return ENOTDIR
		}
		first, second, ip := fs.node(min(dir, c)), fs.node(max(dir, c)), fs.node(c)
		lockData(first)
		lockData(second)
		r, found := lookup(m, dp, name)
		e := ENOTEMPTY
		switch {
		case !found || r.ino != c:
			e = EAGAIN // another call removed or replaced the name since: look again
		case ip.entries == 0:
			fs.removeEntry(m, dp, name)
			atomic.StoreUint32(&ip.nlink, 0) // Create loads it without the lock
			ip.ctime = fs.stampOf(m, ip)
			atomic.AddUint32(&dp.nlink, ^uint32(0))
			e = ok
		}
		unlockData(second)
		unlockData(first)
		if e == ok {
			fs.release(m, c)
		}
		if e != EAGAIN {
			return e
		}
	}
}

// Link makes name in dir another hard link to ino (not a directory),
// under dir's data lock and then ino's (Unlink's order): beside others
// (Mem.Shared) a link and an unlink of one file each see the other's
// link count, so a file whose last link went (an orphan) gains none, and
// nothing is added to a directory removed meanwhile (Create).
// Context: trap or boot; does not allocate.
func (fs *FS) Link(m *Mem, ino, dir Ino, name []byte) Errno {
	ip, dp := fs.node(ino), fs.node(dir)
	switch {
	case ip == nil:
		return ENOENT
	case atomic.LoadUint32(&ip.mode)&unix.S_IFMT == unix.S_IFDIR:
		return EPERM
	case dp == nil || atomic.LoadUint32(&dp.nlink) == 0:
		return ENOENT
	case !fs.IsDir(dir):
		return ENOTDIR
	case len(name) > NameMax:
		return ENAMETOOLONG
	case isDot(name):
		return EEXIST
	}
	lockData(dp)
	lockData(ip)
	e := EEXIST
	switch _, found := lookup(m, dp, name); {
	case found: // Linux's lookup of the new name answers first
	case dp.nlink == 0 || ip.nlink == 0:
		e = ENOENT
	case ip.nlink >= maxLinks:
		e = EMLINK
	default:
		if e = fs.addEntry(m, dp, name, ino); e == ok {
			atomic.AddUint32(&ip.nlink, 1) // release loads it without the lock
			ip.ctime = fs.stampOf(m, ip)
		}
	}
	unlockData(ip)
	unlockData(dp)
	return e
}

// within reports whether directory d is a or lies below a.
// Context: trap; does not allocate.
//
// Not inlined: one copy for Rename's three checks (issue 16's budget).
//
//go:noinline
func (fs *FS) within(d, a Ino) bool {
	for i := 0; i < MaxInodes; i++ {
		if d == a {
			return true
		}
		if d == RootIno || d == 0 {
			return false
		}
		d = fs.inodes[d].parent
	}
	return false
}

// Rename moves oname of odir to nname of ndir, with renameat2's flags
// RENAME_NOREPLACE and RENAME_EXCHANGE, under both directories' data
// locks (Create says why), taken in the order of their numbers. A call
// beside others (Mem.Shared) moves only a regular file or a symbolic
// link over none or another (NeedsExclusive for an exchange, a
// directory, which would change the tree that lookups beside it walk,
// and a FIFO, a device or a socket, which the kernel's other tables may
// name); a file it replaces last waits on the orphan list, as Unlink's.
// Context: trap; does not allocate.
func (fs *FS) Rename(m *Mem, odir Ino, oname []byte, ndir Ino, nname []byte, flags uint32) Errno {
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE) != 0 || flags == unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE {
		return EINVAL
	}
	op, np := fs.node(odir), fs.node(ndir)
	if op == nil || np == nil || !fs.IsDir(odir) || !fs.IsDir(ndir) {
		return ENOTDIR
	}
	if isDot(oname) || isDot(nname) {
		return EBUSY
	}
	if len(nname) > NameMax {
		return ENAMETOOLONG
	}
	first, second := &fs.inodes[min(odir, ndir)], &fs.inodes[max(odir, ndir)]
	lockData(first)
	if second != first {
		lockData(second)
	}
	gone, e := fs.rename(m, odir, oname, ndir, nname, flags)
	if second != first {
		unlockData(second)
	}
	unlockData(first)
	fs.release(m, gone)
	return e
}

// rename is Rename with the directories' data locks held; it returns
// the file whose last link a replace removed, for the caller to release
// once it has let them go (0 for none). Context: trap; does not allocate.
func (fs *FS) rename(m *Mem, odir Ino, oname []byte, ndir Ino, nname []byte, flags uint32) (Ino, Errno) {
	op, np := &fs.inodes[odir], &fs.inodes[ndir]
	src, found := lookup(m, op, oname)
	if !found || np.nlink == 0 {
		return 0, ENOENT
	}
	srcDir := fs.IsDir(src.ino)
	dst, exists := lookup(m, np, nname)
	switch {
	case m.Shared() && (flags&unix.RENAME_EXCHANGE != 0 || !plainFile(fs.Mode(src.ino)) || exists && !plainFile(fs.Mode(dst.ino))):
		return 0, NeedsExclusive
	case srcDir && fs.within(ndir, src.ino):
		return 0, EINVAL
	case srcDir && odir != ndir && !exists && np.nlink >= maxLinks: // as Create
		return 0, EMLINK
	case exists && flags&unix.RENAME_NOREPLACE != 0:
		return 0, EEXIST
	case !exists && flags&unix.RENAME_EXCHANGE != 0:
		return 0, ENOENT
	case exists && flags&unix.RENAME_EXCHANGE != 0:
		return 0, fs.exchange(m, odir, oname, src.ino, ndir, nname, dst.ino)
	case exists && dst.ino == src.ino:
		return 0, ok
	case exists:
		return fs.replace(m, odir, oname, src.ino, ndir, nname, dst.ino)
	}
	if e := fs.addEntry(m, np, nname, src.ino); e != ok {
		return 0, e
	}
	fs.removeEntry(m, op, oname)
	fs.moved(m, odir, ndir, src.ino)
	return 0, ok
}

// plainFile reports whether mode is a regular file's or a symbolic
// link's: what a call beside others may unlink or rename.
// Context: any; does not allocate.
func plainFile(mode uint32) bool {
	typ := mode & unix.S_IFMT
	return typ == unix.S_IFREG || typ == unix.S_IFLNK
}

// replace renames src over the existing dst, with both directories'
// data locks held, and returns dst where its last link went.
// Context: trap.
func (fs *FS) replace(m *Mem, odir Ino, oname []byte, src, ndir Ino, nname []byte, dst Ino) (Ino, Errno) {
	srcDir, dstDir := fs.IsDir(src), fs.IsDir(dst)
	switch {
	case srcDir && !dstDir:
		return 0, ENOTDIR
	case !srcDir && dstDir:
		return 0, EISDIR
	case dstDir && fs.inodes[dst].entries > 0:
		return 0, ENOTEMPTY
	case dstDir && fs.within(odir, dst):
		return 0, ENOTEMPTY
	}
	np := &fs.inodes[ndir]
	fs.setEntry(m, np, nname, src)
	fs.removeEntry(m, &fs.inodes[odir], oname)
	dp := &fs.inodes[dst]
	lockData(dp) // an unlink of another of its names may run beside (Unlink)
	dp.ctime = fs.stampOf(m, dp)
	last := true
	if dstDir {
		dp.nlink = 0
		np.nlink--
	} else {
		last = atomic.AddUint32(&dp.nlink, ^uint32(0)) == 0 // release loads it without the lock
	}
	unlockData(dp)
	fs.moved(m, odir, ndir, src)
	if !last {
		dst = 0
	}
	return dst, ok
}

// exchange swaps two existing entries (RENAME_EXCHANGE). Context: trap.
func (fs *FS) exchange(m *Mem, odir Ino, oname []byte, a, ndir Ino, nname []byte, b Ino) Errno {
	if fs.IsDir(b) && fs.within(odir, b) {
		return EINVAL
	}
	fs.setEntry(m, &fs.inodes[odir], oname, b)
	fs.setEntry(m, &fs.inodes[ndir], nname, a)
	fs.moved(m, odir, ndir, a)
	fs.moved(m, ndir, odir, b)
	return ok
}

// moved stamps ino's change time, under its data lock (Stat reads it
// there), and updates link counts and ".." after a directory went from
// odir to ndir. Context: trap.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (fs *FS) moved(m *Mem, odir, ndir, ino Ino) {
	ip := &fs.inodes[ino]
	lockData(ip)
	ip.ctime = fs.stampOf(m, ip)
	unlockData(ip)
	if atomic.LoadUint32(&ip.mode)&unix.S_IFMT != unix.S_IFDIR || odir == ndir {
		return
	}
	ip.parent = ndir
	fs.inodes[odir].nlink--
	fs.inodes[ndir].nlink++
}

// KeepMode is SetAttr's mode that leaves the mode unchanged (chown).
const KeepMode = ^uint32(0)

// SetAttr sets ino's permission bits (and set-id and sticky bits) to
// mode's, unless mode is KeepMode, and its owner and group (-1 leaves
// one unchanged; a chown of a file that is not a directory drops its
// set-user-ID bit, and its set-group-ID bit where group execute is set,
// as Linux's does even for root), stamping the change time, under the
// file's data lock (Stat reads them there): chmod and chown. A call
// beside others stamps its own instant, now (as Mem.Now; 0 for a call
// alone, which stamps FS.Now); the mode word is stored atomically, as
// the looks at a file's type load it without the lock (node, IsDir,
// Mode, a path's lookup, Truncate's check). Context: trap, files lock
// held (shared: now set); does not allocate.
func (fs *FS) SetAttr(now int64, ino Ino, mode uint32, uid, gid int32) Errno {
	ip := fs.node(ino)
	if ip == nil {
		return ENOENT
	}
	lockData(ip)
	switch {
	case mode != KeepMode:
		atomic.StoreUint32(&ip.mode, ip.mode&unix.S_IFMT|mode&0o7777)
	case ip.mode&unix.S_IFMT != unix.S_IFDIR: // a chown drops set-user-ID, and set-group-ID with group execute, as Linux's
		mode = ip.mode &^ unix.S_ISUID
		if mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP {
			mode &^= unix.S_ISGID
		}
		atomic.StoreUint32(&ip.mode, mode)
	}
	if uid != -1 {
		ip.uid = uint32(uid)
	}
	if gid != -1 {
		ip.gid = uint32(gid)
	}
	ip.ctime = fs.stampOf(&Mem{Now: now}, ip)
	unlockData(ip)
	return ok
}

// Omit leaves a time unchanged in SetTimes; ChangeTime sets it to the
// change's own instant (utimensat's UTIME_NOW), which SetTimes reads
// under the file's data lock, so that it is never earlier than a change
// that took the lock first.
const (
	Omit       = int64(-1 << 63)
	ChangeTime = Omit + 1
)

// SetTimes sets ino's access and modification times (Omit: unchanged;
// ChangeTime: the change time), under its data lock (Stat reads them
// there): a call beside others (Mem.Shared, which takes no page from m)
// stamps the change time with its own instant.
// Context: trap, files lock held (shared: m's Now set); does not
// allocate.
func (fs *FS) SetTimes(m *Mem, ino Ino, atime, mtime int64) Errno {
	ip := fs.node(ino)
	if ip == nil {
		return ENOENT
	}
	if atime == Omit && mtime == Omit { // utimensat changes nothing, not even ctime
		return ok
	}
	lockData(ip)
	now := fs.stampOf(m, ip)
	if atime == ChangeTime {
		atime = now
	}
	if mtime == ChangeTime {
		mtime = now
	}
	if atime != Omit {
		ip.atime = atime
	}
	if mtime != Omit {
		ip.mtime = mtime
	}
	ip.ctime = now
	unlockData(ip)
	return ok
}

// Truncate sets regular file ino's size, under the file's data lock:
// the file's reads and writes, which hold that lock, may run beside a
// truncation beside others (Mem.Shared), which stamps its own instant,
// and a page it frees is one no call beside it can be reading. A kernel file (a
// mark in rdev) it leaves to a call alone (NeedsExclusive).
// Context: trap; does not allocate.
func (fs *FS) Truncate(m *Mem, ino Ino, size int64) Errno {
	ip := fs.node(ino)
	if ip == nil {
		return ENOENT
	}
	switch typ := atomic.LoadUint32(&ip.mode) & unix.S_IFMT; { // a chmod beside stores the mode word (SetAttr)
	case typ == unix.S_IFDIR:
		return EISDIR
	case typ != unix.S_IFREG || size < 0:
		return EINVAL
	case size > MaxFileSize:
		return EFBIG
	case m.Shared() && ip.rdev != 0:
		return NeedsExclusive
	}
	lockData(ip)
	if size != ip.size {
		fs.truncateData(m, ip, size)
	}
	now := fs.stampOf(m, ip)
	ip.mtime, ip.ctime = now, now
	unlockData(ip)
	return ok
}

// Allocate makes sure [off, off+n) of regular file ino has pages, growing
// the file unless keepSize (fallocate modes 0 and FALLOC_FL_KEEP_SIZE),
// under the file's data lock: the file's reads, writes and truncations,
// which hold that lock, may run beside an allocation beside others
// (Mem.Shared: its pages charged beforehand, its own instant stamped). A
// kernel file (a mark in rdev) it leaves to a call alone
// (NeedsExclusive), as Truncate does.
// Context: trap; does not allocate.
func (fs *FS) Allocate(m *Mem, ino Ino, off, n int64, keepSize bool) Errno {
	ip := fs.node(ino)
	if ip == nil {
		return EBADF
	}
	switch mode := atomic.LoadUint32(&ip.mode) & unix.S_IFMT; { // a chmod may run beside (SetAttr)
	case off < 0 || n <= 0:
		return EINVAL
	case mode == unix.S_IFDIR:
		return EISDIR
	case mode != unix.S_IFREG:
		return unix.ENODEV
	case off+n > MaxFileSize || off+n < off:
		return EFBIG
	case m.Shared() && ip.rdev != 0:
		return NeedsExclusive
	}
	lockData(ip)
	e := ok
	for pg := uint64(off) / PageSize; pg <= uint64(off+n-1)/PageSize && e == ok; pg++ {
		_, e = fs.makePage(m, ip, pg)
	}
	if e == ok {
		if !keepSize && off+n > ip.size {
			ip.size = off + n
		}
		ip.ctime = fs.stampOf(m, ip)
	}
	unlockData(ip)
	return e
}

// Read copies ino's bytes at off into dst. Context: trap; does not allocate.
func (fs *FS) Read(m *Mem, ino Ino, off int64, dst []byte) (int, Errno) {
	ip := fs.node(ino)
	if ip == nil {
		return 0, EBADF
	}
	if atomic.LoadUint32(&ip.mode)&unix.S_IFMT == unix.S_IFDIR {
		return 0, EISDIR
	}
	rlockData(ip)
	n := readData(m, ip, off, dst)
	runlockData(ip)
	return n, ok
}

// Write copies src into ino at off (the file grows as needed) and returns
// how many bytes went in, stamping the call's instant (FS.now: m.Now
// beside other calls, else FS.Now) as the modification and change
// times. Beside other calls (the files lock held shared) the caller
// holds ino's data lock (LockData) and reads m.Now under it, so that
// writes of one file stamp in the order they write.
// Context: trap; does not allocate.
func (fs *FS) Write(m *Mem, ino Ino, off int64, src []byte) (int, Errno) {
	ip := fs.node(ino)
	if ip == nil {
		return 0, EBADF
	}
	if atomic.LoadUint32(&ip.mode)&unix.S_IFMT == unix.S_IFDIR { // its records are not for writing
		return 0, EISDIR
	}
	if len(src) == 0 {
		return 0, ok
	}
	n, e := fs.writeData(m, ip, off, src)
	if n > 0 {
		now := fs.now(m)
		ip.mtime, ip.ctime = now, now
	}
	return n, e
}

// Open is what openat(2) does with a path: find or create the file and
// check the flags against it. It returns the file's inode and whether it
// was created; the caller makes the handle. A call beside others
// (Mem.Shared) truncates a file under its data lock (Truncate), and
// answers NeedsExclusive, having changed nothing a program can see,
// where it would truncate a kernel file, where its create found no
// free inode (orphans may hold them: Reclaim) or no page, and where
// another open made the name between its lookup and its create.
// Context: trap; does not allocate.
func (fs *FS) Open(m *Mem, start Ino, p *Path, flags int, mode uint32) (Ino, bool, Errno) {
	if flags&unix.O_PATH != 0 { // open(2) ignores the other flags
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	create, excl := flags&unix.O_CREAT != 0, flags&unix.O_EXCL != 0
	if create && flags&unix.O_DIRECTORY != 0 {
		return 0, false, EINVAL // as Linux since 6.4
	}
	follow := flags&unix.O_NOFOLLOW == 0 && !(create && excl)
	f, e := fs.Resolve(m, start, p, follow)
	if create && f.Slash && (e == ok || e == ENOTDIR) {
		return 0, false, EISDIR // O_CREAT with a trailing slash, whatever is there
	}
	if e != ok {
		return 0, false, e
	}
	if f.Ino == 0 {
		if !create {
			return 0, false, ENOENT
		}
		ino, e := fs.Create(m, f.Dir, f.Name, unix.S_IFREG|mode&0o7777, 0)
		if m.Shared() && (e == ENOSPC || e == EEXIST && !excl) {
			// Orphans may hold the slots (Reclaim), or another open
			// created the name since the lookup: open it alone.
			return 0, false, NeedsExclusive
		}
		return ino, e == ok, e
	}
	if create && excl {
		return 0, false, EEXIST
	}
	return f.Ino, false, fs.checkOpen(m, f.Ino, flags)
}

// checkOpen checks flags against an existing file and truncates it for
// O_TRUNC. Context: trap; does not allocate.
func (fs *FS) checkOpen(m *Mem, ino Ino, flags int) Errno {
	typ := fs.Mode(ino) & unix.S_IFMT
	write := flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0 // O_TRUNC asks for write access
	switch {
	case typ == unix.S_IFLNK && flags&unix.O_PATH == 0:
		return ELOOP // O_NOFOLLOW on a link
	case flags&unix.O_DIRECTORY != 0 && typ != unix.S_IFDIR:
		return ENOTDIR
	case typ == unix.S_IFDIR && (write || flags&unix.O_CREAT != 0):
		return EISDIR
	}
	if flags&unix.O_TRUNC != 0 && typ == unix.S_IFREG {
		return fs.Truncate(m, ino, 0)
	}
	return ok
}
