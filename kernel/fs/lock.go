package fs

// Advisory locks: fcntl record locks and flock locks, which Linux keeps
// apart (one never conflicts with the other). A lock belongs to an owner:
// an open file description (OFD locks and flock) or the process (classic
// POSIX record locks: the program is the only process, so those never
// conflict with each other, only with OFD locks).

// maxLocks bounds the locks held at once (ENOLCK beyond).
const maxLocks = 512

// ProcessOwner owns classic POSIX record locks (F_SETLK).
const ProcessOwner int32 = -1

// ToEnd is the end of a lock that runs to the end of the file.
const ToEnd = int64(^uint64(0) >> 1)

// Lock types, as fcntl's.
const (
	ReadLock  = 0 // F_RDLCK
	WriteLock = 1 // F_WRLCK
	Unlock    = 2 // F_UNLCK
)

type lockEntry struct {
	used       bool
	flock      bool
	write      bool
	ino        Ino
	owner      int32
	start, end int64 // [start, end)
}

type lockTable struct {
	e [maxLocks]lockEntry
}

// Conflict describes a lock that blocks a request (F_GETLK's answer).
type Conflict struct {
	Write      bool
	Owner      int32
	Start, End int64
}

// conflict returns the first lock of another owner that blocks a lock of
// this kind on [start, end). Context: trap; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (t *lockTable) conflict(ino Ino, owner int32, flock, write bool, start, end int64) (Conflict, bool) {
	for i := range t.e {
		l := &t.e[i]
		if !l.used || l.ino != ino || l.flock != flock || l.owner == owner {
			continue
		}
		if l.start < end && start < l.end && (write || l.write) {
			return Conflict{Write: l.write, Owner: l.owner, Start: l.start, End: l.end}, true
		}
	}
	return Conflict{}, false
}

// free returns how many entries are unused.
func (t *lockTable) free() int {
	n := 0
	for i := range t.e {
		if !t.e[i].used {
			n++
		}
	}
	return n
}

// add records a lock; the caller made sure there is room.
func (t *lockTable) add(l lockEntry) {
	for i := range t.e {
		if !t.e[i].used {
			l.used = true
			t.e[i] = l
			return
		}
	}
}

// cut removes owner's locks of this kind from [start, end), keeping the
// parts outside it. Context: trap; does not allocate.
func (t *lockTable) cut(ino Ino, owner int32, flock bool, start, end int64) {
	for i := range t.e {
		l := &t.e[i]
		if !l.used || l.ino != ino || l.flock != flock || l.owner != owner || l.end <= start || end <= l.start {
			continue
		}
		left, right := *l, *l
		l.used = false
		if left.start < start {
			left.end = start
			t.add(left)
		}
		if right.end > end {
			right.start = end
			t.add(right)
		}
	}
}

// SetLock takes (ReadLock, WriteLock) or releases (Unlock) owner's lock on
// [start, end) of ino, of the flock kind or the record kind. A lock another
// owner holds makes it fail with EAGAIN (the caller may wait and retry);
// a full table with ENOLCK. Context: trap; does not allocate.
func (fs *FS) SetLock(ino Ino, owner int32, flock bool, typ int, start, end int64) Errno {
	t := &fs.locks
	if start < 0 || end <= start {
		return EINVAL
	}
	if typ == Unlock {
		if t.free() < 1 {
			return ENOLCK // a split needs an entry
		}
		t.cut(ino, owner, flock, start, end)
		return ok
	}
	if typ != ReadLock && typ != WriteLock {
		return EINVAL
	}
	if _, busy := t.conflict(ino, owner, flock, typ == WriteLock, start, end); busy {
		return EAGAIN
	}
	if t.free() < 2 {
		return ENOLCK
	}
	t.cut(ino, owner, flock, start, end)
	for i := range t.e { // merge with the owner's touching locks of the same type, as Linux does
		l := &t.e[i]
		if l.used && l.ino == ino && l.flock == flock && l.owner == owner && l.write == (typ == WriteLock) && (l.end == start || l.start == end) {
			start, end = min(start, l.start), max(end, l.end)
			l.used = false
		}
	}
	t.add(lockEntry{flock: flock, write: typ == WriteLock, ino: ino, owner: owner, start: start, end: end})
	return ok
}

// TestLock reports the lock, if any, that would block owner's request
// (F_GETLK). Context: trap; does not allocate.
func (fs *FS) TestLock(ino Ino, owner int32, flock bool, typ int, start, end int64) (Conflict, bool) {
	return fs.locks.conflict(ino, owner, flock, typ == WriteLock, start, end)
}

// DropLocks releases every lock owner holds on ino (ino 0: on any file).
// Context: trap; does not allocate.
func (fs *FS) DropLocks(ino Ino, owner int32) {
	for i := range fs.locks.e {
		l := &fs.locks.e[i]
		if l.used && l.owner == owner && (ino == 0 || l.ino == ino) {
			l.used = false
		}
	}
}

// HasLocks reports whether any lock is held on ino.
func (fs *FS) HasLocks(ino Ino) bool {
	for i := range fs.locks.e {
		if fs.locks.e[i].used && fs.locks.e[i].ino == ino {
			return true
		}
	}
	return false
}

// dropInode forgets the locks of a freed inode. Context: trap.
func (t *lockTable) dropInode(ino Ino) {
	for i := range t.e {
		if t.e[i].ino == ino {
			t.e[i].used = false
		}
	}
}
