package fs

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// MaxInodes bounds the number of files, directories and links the file
// system holds at once (inode 0 is never used; 1 is the root).
const MaxInodes = 8192

// Limits of names and paths, as Linux's.
const (
	NameMax = 255
	PathMax = 4096
	// MaxFileSize is the largest size a regular file may reach.
	MaxFileSize = 1 << 40
	// maxLinks bounds a file's hard links.
	maxLinks = 65000
)

// Ino numbers an inode: its index in the table, and st_ino.
type Ino int32

// RootIno is the root directory.
const RootIno Ino = 1

// Dev is the st_dev of every file of the file system (a made-up tmpfs
// device number, as Linux gives its anonymous file systems).
const Dev = 0x15

type inode struct {
	mode    uint32 // S_IFMT and permission bits; 0 marks a free slot; stored atomically beside other calls (newInode, wipe, SetAttr), loaded so where the data lock is not held
	nlink   uint32
	uid     uint32
	gid     uint32
	rdev    uint32 // character devices: major<<8 | minor
	opens   int32  // open handles and file mappings
	entries int32  // directories: live entries, "." and ".." not counted; on the orphan list: ^ the next's number (FS.orphans)
	parent  Ino    // directories: the directory holding it, for ".."
	size    int64
	atime   int64 // nanoseconds since the epoch
	mtime   int64
	ctime   int64
	btime   int64
	root    uint64 // the data's page index (physical), 0 if no page
	pages   int64  // data pages held (index pages not counted)
	depth   uint8  // levels of index pages above the data pages
	mapped  bool   // mapped into memory: truncation keeps the pages (KeepPages)
	// dataHeld is the data lock, held exclusively (lockData) or shared
	// (rlockData): size, the page tree, pages and the modification
	// times (with the access and change times), which the writes,
	// truncations and utimensat change beside other calls, and a
	// directory's names (kernel/fs/datalock.go; in the padding: the
	// inode stays 96 bytes).
	dataHeld uint32
}

// FS is the in-memory file system. The zero value is not ready: call Init.
type FS struct {
	inodes [MaxInodes]inode
	// hint is where newInode looks for a free inode first; atomic, as
	// creates run beside each other (Mem.Shared).
	hint int32
	// orphans heads the list of files and directories that a call
	// beside others (Mem.Shared) unlinked or removed last, or whose last
	// open ended beside others (Drop), waiting for Reclaim; linked through their inodes' entry counts, which hold
	// the complement of the next one's number (^next: below zero, so
	// never a count, and never 0, which says an inode is off the list),
	// which a file other than a directory does not use and a removed
	// directory holds at zero (it holds no entry, and none can be added:
	// Create), and not their parents, which a ".." lookup by a call that
	// found a removed directory before reads beside (FS.child); 0 when
	// empty.
	orphans int32
	// Now is the wall-clock time in nanoseconds since the epoch; the
	// caller sets it before each call that changes a file, but for a
	// call beside others (Mem.Shared), which stamps its Mem's own
	// (Mem.Now).
	Now int64
	// InodesUsed and PagesHeld describe the file system's footprint.
	// They change by atomic adds (creates, unlinks and writes run side
	// by side, under the files lock held shared): a call beside them
	// loads them atomically.
	InodesUsed int64
	PagesHeld  int64
	locks      lockTable
}

// Init makes an empty file system whose root directory has mode 0755.
// Context: boot; does not allocate.
func (fs *FS) Init() {
	fs.inodes = [MaxInodes]inode{}
	fs.hint, fs.orphans = 2, 0
	fs.InodesUsed = 1
	r := &fs.inodes[RootIno]
	*r = inode{mode: unix.S_IFDIR | 0o755, nlink: 2, parent: RootIno}
	r.atime, r.mtime, r.ctime, r.btime = fs.Now, fs.Now, fs.Now, fs.Now
}

// node returns the inode ino, or nil if ino is out of range or free.
// Context: any; does not allocate. Not inlined: it is called at about a
// hundred places, and each inlined copy costs image bytes.
//
//go:noinline
func (fs *FS) node(ino Ino) *inode {
	if ino <= 0 || int(ino) >= MaxInodes || atomic.LoadUint32(&fs.inodes[ino].mode) == 0 {
		return nil
	}
	return &fs.inodes[ino]
}

// newInode takes a free inode with mode and a link count of zero.
// Creates run beside each other (Mem.Shared): it claims a free slot (a
// mode of 0) under the slot's data lock, which no other call takes on a
// free slot, and stores the mode atomically, as wipe clears it and a
// chmod changes its permission bits (SetAttr); the looks at it without
// a data lock load it atomically.
// Context: trap or boot; does not allocate.
func (fs *FS) newInode(m *Mem, mode uint32) (Ino, Errno) {
	hint := int(atomic.LoadInt32(&fs.hint))
	for k := 0; k < MaxInodes; k++ {
		i := (hint + k) % MaxInodes
		ip := &fs.inodes[i]
		if i < 2 || atomic.LoadUint32(&ip.mode) != 0 || !atomic.CompareAndSwapUint32(&ip.dataHeld, 0, dataWriter) {
			continue
		}
		free := atomic.LoadUint32(&ip.mode) == 0 // another claim may have won since the first look
		if free {
			atomic.StoreUint32(&ip.mode, mode)
		}
		unlockData(ip)
		if !free {
			continue
		}
		atomic.StoreInt32(&fs.hint, int32(i+1))
		atomic.AddInt64(&fs.InodesUsed, 1)
		now := fs.now(m)
		ip.atime, ip.mtime, ip.ctime, ip.btime = now, now, now, now // the rest is zero (wipe)
		return Ino(i), ok
	}
	return 0, ENOSPC
}

// release frees ino once nothing refers to it: no link, no open handle.
// A call beside others (Mem.Shared) puts it on the orphan list instead,
// for Reclaim. Context: trap; does not allocate.
func (fs *FS) release(m *Mem, ino Ino) {
	ip := fs.node(ino)
	if ip == nil || atomic.LoadUint32(&ip.nlink) > 0 || atomic.LoadInt32(&ip.opens) > 0 { // links and opens may change beside (Link, Unlink, Hold, Drop)
		return
	}
	if m.Shared() {
		fs.pushOrphan(ino, ip)
		return
	}
	fs.free(m, ino, ip)
}

// free gives ino's pages back and makes its slot free.
// Context: trap, and ino unreachable by any other call; does not
// allocate.
func (fs *FS) free(m *Mem, ino Ino, ip *inode) {
	fs.freeData(m, ip)
	atomic.AddInt64(&fs.InodesUsed, -1) // before the slot is free: a claim beside it counts after
	fs.locks.dropInode(ino)
	wipe(ip)
}

// wipe zeroes every field of ip but the mode and the data lock, then
// the mode, last and atomically: a newInode beside it claims the slot by
// its mode, and finds the rest zero. (A whole-struct store would zero
// the mode first.) The data lock is no holder's when a file is freed
// but a claim's that looked at the slot before it was taken, which
// holds it while it looks again: clearing it would let a second claim
// in beside that one. Context: any; does not allocate.
func wipe(ip *inode) {
	ip.nlink, ip.uid, ip.gid, ip.rdev, ip.opens, ip.entries, ip.parent = 0, 0, 0, 0, 0, 0, 0
	ip.size, ip.atime, ip.mtime, ip.ctime, ip.btime, ip.root, ip.pages = 0, 0, 0, 0, 0, 0, 0
	ip.depth, ip.mapped = 0, false
	atomic.StoreUint32(&ip.mode, 0)
}

// pushOrphan puts ino, a file or directory with no link and no open
// handle, on the orphan list, unless it is there already: the unlink or
// rmdir that took its link count to zero and the end of its last open
// beside others (Drop) may both find it so, and it goes on the list
// once. It claims the inode by its entry count (from 0, off the list,
// to ^0, on it), then links it in front.
// Context: trap, files lock held shared; does not allocate.
func (fs *FS) pushOrphan(ino Ino, ip *inode) {
	if !atomic.CompareAndSwapInt32(&ip.entries, 0, ^0) {
		return // on the list already
	}
	for {
		head := atomic.LoadInt32(&fs.orphans)
		atomic.StoreInt32(&ip.entries, ^head)
		if atomic.CompareAndSwapInt32(&fs.orphans, head, int32(ino)) {
			return
		}
	}
}

// HasOrphans reports whether files or directories wait on the orphan
// list (Reclaim).
// Context: any; does not allocate.
func (fs *FS) HasOrphans() bool { return atomic.LoadInt32(&fs.orphans) != 0 }

// TakeOrphans takes the whole orphan list off, atomically, and returns
// its first file (0 if none): files unlinked after it start a new list.
// Its caller frees them (FreeOrphans) if no call beside it can hold one
// of their numbers, and else puts them back (PutBackOrphans).
// Context: trap, files lock held; does not allocate.
func (fs *FS) TakeOrphans() Ino { return Ino(atomic.SwapInt32(&fs.orphans, 0)) }

// PutBackOrphans puts a list TakeOrphans took back in front of the
// orphan list. Context: trap, files lock held; does not allocate.
func (fs *FS) PutBackOrphans(first Ino) {
	if first == 0 {
		return
	}
	last := first
	for atomic.LoadInt32(&fs.inodes[last].entries) < ^0 { // ^0: the last
		last = Ino(^atomic.LoadInt32(&fs.inodes[last].entries))
	}
	for {
		head := atomic.LoadInt32(&fs.orphans)
		atomic.StoreInt32(&fs.inodes[last].entries, ^head)
		if atomic.CompareAndSwapInt32(&fs.orphans, head, int32(first)) {
			return
		}
	}
}

// FreeOrphans frees the files and directories of a list TakeOrphans
// took that nothing refers to any more (an open beside the unlink or
// rmdir may have found one by its name just before it went: that one
// goes at its last close, as any unlinked file). Context: trap, files lock held exclusively, or
// shared by this CPU alone since the list was taken (every call that
// found one of them by its name did so before the list was taken, and
// has ended; none after can); does not allocate.
func (fs *FS) FreeOrphans(m *Mem, first Ino) {
	for ino := first; ino != 0; {
		ip := &fs.inodes[ino]
		next := Ino(^atomic.LoadInt32(&ip.entries))
		atomic.StoreInt32(&ip.entries, 0) // off the list: its last open's end may put it back (Drop)
		if ip.nlink == 0 && atomic.LoadInt32(&ip.opens) == 0 {
			fs.free(m, ino, ip)
		}
		ino = next
	}
}

// Reclaim frees the files on the orphan list that nothing refers to any
// more (FreeOrphans). Context: trap, files lock held exclusively; does
// not allocate.
func (fs *FS) Reclaim(m *Mem) { fs.FreeOrphans(m, fs.TakeOrphans()) }

// IsDir reports whether ino is a directory. Context: trap or boot; does
// not allocate. Not inlined: its copies at fifteen callers cost the
// image 480 bytes (issue 16's budget).
//
//go:noinline
func (fs *FS) IsDir(ino Ino) bool {
	ip := fs.node(ino)
	return ip != nil && atomic.LoadUint32(&ip.mode)&unix.S_IFMT == unix.S_IFDIR
}

// Mode returns ino's mode (type and permissions), 0 if it does not exist.
// Context: any. Not inlined: its copies cost the image bytes (issue
// 16's budget).
//
//go:noinline
func (fs *FS) Mode(ino Ino) uint32 {
	if ip := fs.node(ino); ip != nil {
		return atomic.LoadUint32(&ip.mode) // a chmod beside stores it (SetAttr)
	}
	return 0
}

// Size returns ino's size in bytes. Context: any; does not allocate.
//
// Not inlined: the image is smaller with one copy (issue 16's budget).
//
//go:noinline
func (fs *FS) Size(ino Ino) int64 {
	var size int64
	if ip := fs.node(ino); ip != nil {
		rlockData(ip)
		size = ip.size
		runlockData(ip)
	}
	return size
}

// SizeHeld returns ino's size for a caller that holds ino's data lock
// (LockData): an appending write beside others, which writes at the
// size. ino is a file the caller holds open (the mask only spares a
// bounds check). Context: trap; does not allocate.
func (fs *FS) SizeHeld(ino Ino) int64 { return fs.inodes[ino&(MaxInodes-1)].size }

// Rdev returns a device file's device number (major<<8 | minor).
// Context: any; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (fs *FS) Rdev(ino Ino) uint32 {
	if ip := fs.node(ino); ip != nil {
		return ip.rdev
	}
	return 0
}

// Hold counts an open handle or mapping of ino; Drop gives it back and
// frees an unlinked file when the last one goes. Both add atomically:
// opens of one file run beside each other and beside the end of a
// description closed beside others (the files lock held shared).
// Context: trap.
func (fs *FS) Hold(ino Ino) {
	if ip := fs.node(ino); ip != nil {
		atomic.AddInt32(&ip.opens, 1)
	}
}

// Drop ends a Hold. A directory emptied while open loses its dead
// records with its last open, under its data lock: beside others
// (Mem.Shared) a create may add to it and an open may hold it again
// meanwhile. An inode with no link and no open goes (release: beside
// others onto the orphan list, where an unlink beside may have put it
// too). Context: trap, no data lock held; does not allocate.
func (fs *FS) Drop(m *Mem, ino Ino) {
	ip := fs.node(ino)
	if ip == nil {
		return
	}
	if atomic.AddInt32(&ip.opens, -1) == 0 && atomic.LoadUint32(&ip.mode)&unix.S_IFMT == unix.S_IFDIR {
		lockData(ip)
		if atomic.LoadInt32(&ip.entries) == 0 && atomic.LoadInt32(&ip.opens) == 0 { // (removed, it may go on the orphan list beside: its count is below zero there)
			fs.truncateData(m, ip, 0) // emptied while open: the dead records go
		}
		unlockData(ip)
	}
	fs.release(m, ino)
}

// Stat is what stat(2) reports about a file.
type Stat struct {
	Ino                        Ino
	Mode                       uint32
	Nlink                      uint32
	UID, GID                   uint32
	Rdev                       uint32
	Size                       int64
	Blocks                     int64 // 512-byte units
	Atime, Mtime, Ctime, Btime int64
}

// Stat describes ino, under its data lock (a write may be changing its
// size and times). Context: trap; does not allocate.
func (fs *FS) Stat(ino Ino) (Stat, Errno) {
	ip := fs.node(ino)
	if ip == nil {
		return Stat{}, ENOENT
	}
	rlockData(ip)
	st := Stat{
		Ino: ino, Mode: ip.mode, Nlink: ip.nlink, UID: ip.uid, GID: ip.gid, Rdev: ip.rdev,
		Size: ip.size, Blocks: ip.pages * (PageSize / 512),
		Atime: ip.atime, Mtime: ip.mtime, Ctime: ip.ctime, Btime: ip.btime,
	}
	runlockData(ip)
	return st, ok
}

// StatSize is sizeof(struct stat) on linux/amd64; StatxSize is struct
// statx's.
const (
	StatSize  = 144
	StatxSize = 256
)

// PutStat writes st into b (StatSize bytes) as linux/amd64's struct stat.
// Context: any; does not allocate.
func PutStat(buf []byte, st *Stat) {
	le := binary.LittleEndian
	b := (*[StatSize]byte)(buf) // one length check, not one per field
	clear(b[:])
	le.PutUint64(b[0:], Dev)
	le.PutUint64(b[8:], uint64(st.Ino))
	le.PutUint64(b[16:], uint64(st.Nlink))
	le.PutUint32(b[24:], st.Mode)
	le.PutUint32(b[28:], st.UID)
	le.PutUint32(b[32:], st.GID)
	le.PutUint64(b[40:], uint64(st.Rdev))
	le.PutUint64(b[48:], uint64(st.Size))
	le.PutUint64(b[56:], PageSize)
	le.PutUint64(b[64:], uint64(st.Blocks))
	putTimespec(b[72:], st.Atime)
	putTimespec(b[88:], st.Mtime)
	putTimespec(b[104:], st.Ctime)
}

// PutStatx writes st into b (StatxSize bytes) as struct statx with every
// basic field and the birth time valid.
// Context: any; does not allocate.
func PutStatx(buf []byte, st *Stat) {
	le := binary.LittleEndian
	b := (*[StatxSize]byte)(buf) // one length check, not one per field
	clear(b[:])
	le.PutUint32(b[0:], unix.STATX_BASIC_STATS|unix.STATX_BTIME)
	le.PutUint32(b[4:], PageSize)
	le.PutUint32(b[16:], st.Nlink)
	le.PutUint32(b[20:], st.UID)
	le.PutUint32(b[24:], st.GID)
	le.PutUint16(b[28:], uint16(st.Mode))
	le.PutUint64(b[32:], uint64(st.Ino))
	le.PutUint64(b[40:], uint64(st.Size))
	le.PutUint64(b[48:], uint64(st.Blocks))
	putStatxTime(b[64:], st.Atime)
	putStatxTime(b[80:], st.Btime)
	putStatxTime(b[96:], st.Ctime)
	putStatxTime(b[112:], st.Mtime)
	le.PutUint32(b[128:], st.Rdev>>8)
	le.PutUint32(b[132:], st.Rdev&0xff)
	le.PutUint32(b[136:], Dev>>8)
	le.PutUint32(b[140:], Dev&0xff)
}

// putTimespec writes ns as a struct timespec. Context: any. Not
// inlined: its copies cost the image bytes (issue 16's budget).
//
//go:noinline
func putTimespec(b []byte, ns int64) {
	sec, nsec := splitNs(ns)
	binary.LittleEndian.PutUint64(b, uint64(sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(nsec))
}

// putStatxTime writes ns as a struct statx_timestamp. Context: any.
// Not inlined: its copies cost the image bytes (issue 16's budget).
//
//go:noinline
func putStatxTime(b []byte, ns int64) {
	sec, nsec := splitNs(ns)
	binary.LittleEndian.PutUint64(b, uint64(sec))
	binary.LittleEndian.PutUint32(b[8:], uint32(nsec))
}

// splitNs splits nanoseconds into seconds and a non-negative remainder.
func splitNs(ns int64) (sec, nsec int64) {
	sec, nsec = ns/1e9, ns%1e9
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	return sec, nsec
}

// IsRegular reports whether ino is a regular file. Context: any; does
// not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (fs *FS) IsRegular(ino Ino) bool {
	ip := fs.node(ino)
	return ip != nil && atomic.LoadUint32(&ip.mode)&unix.S_IFMT == unix.S_IFREG
}

// KeepPages marks ino as mapped into memory: from now on truncation
// zeroes its pages instead of freeing them, since a mapping may still
// point at them. Context: trap; does not allocate.
func (fs *FS) KeepPages(ino Ino) {
	if ip := fs.node(ino); ip != nil {
		ip.mapped = true
	}
}
