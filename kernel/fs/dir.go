package fs

import (
	"encoding/binary"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A directory's data is a sequence of records, none crossing a page:
//
//	[0:4] inode (0: a dead record, free for reuse)
//	[4:6] record length, a multiple of 8
//	[6]   name length
//	[7]   file type (DT_*)
//	[8:]  name
//
// Removing an entry kills its record in place, so a reader's offset stays
// valid while entries are removed (os.RemoveAll reads and removes in
// turns); a new entry reuses a dead record that fits, or is appended.

const recHeader = 8

// recLen returns the record length for a name of n bytes.
func recLen(n int) int { return (recHeader + n + 7) &^ 7 }

// record is a decoded directory record at byte offset off.
type record struct {
	off    int64
	ino    Ino
	length int
	typ    uint8
	name   []byte // aliases the page
}

// recordAt decodes the record at off (off must start one).
// Context: trap; does not allocate.
func recordAt(m *Mem, ip *inode, off int64) (record, bool) {
	pa, _, _ := findPage(m, ip, uint64(off)/PageSize)
	if pa == 0 || off >= ip.size {
		return record{}, false
	}
	if off%8 != 0 { // records start 8-aligned (and so have a whole header)
		return record{}, false
	}
	p := m.page(pa)[off%PageSize:]
	r := record{off: off, ino: Ino(binary.LittleEndian.Uint32(p)), length: int(binary.LittleEndian.Uint16(p[4:])), typ: p[7]}
	if r.length < recHeader || r.length > len(p) || recHeader+int(p[6]) > r.length {
		return record{}, false
	}
	r.name = p[recHeader : recHeader+int(p[6])]
	return r, true
}

// lookup returns the entry name of directory ip.
// Context: trap; does not allocate.
func lookup(m *Mem, ip *inode, name []byte) (record, bool) {
	for off := int64(0); off < ip.size; {
		r, good := recordAt(m, ip, off)
		if !good {
			break
		}
		if r.ino != 0 && string(r.name) == string(name) {
			return r, true
		}
		off += int64(r.length)
	}
	return record{}, false
}

// typeOf returns the DT_* type for a mode.
func typeOf(mode uint32) uint8 { return uint8((mode & unix.S_IFMT) >> 12) }

// addEntry adds name -> ino to directory dir (the name must be absent).
// Context: trap or boot; does not allocate.
func (fs *FS) addEntry(m *Mem, dir *inode, name []byte, ino Ino) Errno {
	want := recLen(len(name))
	at := int64(-1)
	for off := int64(0); off < dir.size; { // a dead record that fits
		r, good := recordAt(m, dir, off)
		if !good {
			break
		}
		if r.ino == 0 && r.length >= want {
			at, want = off, r.length
			break
		}
		off += int64(r.length)
	}
	if at < 0 {
		at = dir.size
		if room := PageSize - int(at%PageSize); room < want { // pad the page with a dead record
			if e := fs.putRecord(m, dir, at, 0, room, nil, 0); e != ok {
				return e
			}
			at += int64(room)
		}
	}
	if e := fs.putRecord(m, dir, at, ino, want, name, typeOf(atomic.LoadUint32(&fs.inodes[ino].mode))); e != ok {
		return e
	}
	dir.entries++
	now := fs.stampOf(m, dir)
	dir.mtime, dir.ctime = now, now
	return ok
}

// putRecord writes a record of the given length at off.
// Context: trap or boot; does not allocate.
func (fs *FS) putRecord(m *Mem, dir *inode, off int64, ino Ino, length int, name []byte, typ uint8) Errno {
	pa, e := fs.makePage(m, dir, uint64(off)/PageSize)
	if e != ok {
		return e
	}
	p := m.page(pa)[off%PageSize:]
	clear(p[:length])
	binary.LittleEndian.PutUint32(p, uint32(ino))
	binary.LittleEndian.PutUint16(p[4:], uint16(length))
	p[6] = uint8(len(name))
	p[7] = typ
	copy(p[recHeader:], name)
	if end := off + int64(length); end > dir.size {
		dir.size = end
	}
	return ok
}

// removeEntry kills the record of name in dir. When the directory holds
// nothing any more and nobody has it open, its pages go back.
// Context: trap; does not allocate.
func (fs *FS) removeEntry(m *Mem, dir *inode, name []byte) {
	r, found := lookup(m, dir, name)
	if !found {
		return
	}
	pa, _, _ := findPage(m, dir, uint64(r.off)/PageSize)
	binary.LittleEndian.PutUint32(m.page(pa)[r.off%PageSize:], 0)
	dir.entries--
	now := fs.stampOf(m, dir)
	dir.mtime, dir.ctime = now, now
	if dir.entries == 0 && atomic.LoadInt32(&dir.opens) == 0 { // opens of it may run beside (FS.Hold)
		fs.truncateData(m, dir, 0)
	}
}

// setEntry points the existing entry name of dir at ino (rename over an
// existing name). Context: trap; does not allocate.
func (fs *FS) setEntry(m *Mem, dir *inode, name []byte, ino Ino) {
	r, found := lookup(m, dir, name)
	if !found {
		return
	}
	pa, _, _ := findPage(m, dir, uint64(r.off)/PageSize)
	p := m.page(pa)[r.off%PageSize:]
	binary.LittleEndian.PutUint32(p, uint32(ino))
	p[7] = typeOf(atomic.LoadUint32(&fs.inodes[ino].mode))
	now := fs.stampOf(m, dir)
	dir.mtime, dir.ctime = now, now
}

// Dirent is one entry getdents64 returns.
type Dirent struct {
	Ino  Ino
	Type uint8
	Name []byte // valid until the directory changes
	Next int64  // the position after this entry (d_off)
}

// ReadDir returns the entry at position pos of directory ino and whether
// there is one. Positions: 0 is ".", 1 is "..", 2+k is the record at byte
// k; Next is the position to continue from. The caller holds the
// directory's data lock shared (FS.RLockData) while it reads the entries and
// copies their names, where creates and unlinks may run beside it
// (Mem.Shared). Context: trap; does not allocate.
func (fs *FS) ReadDir(m *Mem, ino Ino, pos int64) (Dirent, bool) {
	ip := fs.node(ino)
	if ip == nil || ip.nlink == 0 || atomic.LoadUint32(&ip.mode)&unix.S_IFMT != unix.S_IFDIR { // a removed directory reads empty
		return Dirent{}, false
	}
	switch pos {
	case 0:
		return Dirent{Ino: ino, Type: unix.DT_DIR, Name: dotName[:1], Next: 1}, true
	case 1:
		return Dirent{Ino: ip.parent, Type: unix.DT_DIR, Name: dotName[:2], Next: 2}, true
	}
	if pos < 0 {
		return Dirent{}, false
	}
	off := pos - 2
	// A position a program made up (lseek) may fall inside a record:
	// go on from the next record. Records never cross a page, so the
	// page's records lead there.
	for k := off &^ (PageSize - 1); k < off; {
		r, good := recordAt(m, ip, k)
		if !good {
			break
		}
		if k += int64(r.length); k > off {
			off = k
		}
	}
	for off < ip.size {
		r, good := recordAt(m, ip, off)
		if !good {
			break
		}
		off += int64(r.length)
		if r.ino != 0 {
			return Dirent{Ino: r.ino, Type: r.typ, Name: r.name, Next: off + 2}, true
		}
	}
	return Dirent{}, false
}

var dotName = [2]byte{'.', '.'}

// PutDirent64 writes d as a struct linux_dirent64 into b and returns its
// length, or 0 if b is too short. Context: any; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func PutDirent64(b []byte, d *Dirent) int {
	n := (19 + len(d.Name) + 1 + 7) &^ 7
	if len(b) < n {
		return 0
	}
	clear(b[:n])
	binary.LittleEndian.PutUint64(b, uint64(d.Ino))
	binary.LittleEndian.PutUint64(b[8:], uint64(d.Next))
	binary.LittleEndian.PutUint16(b[16:], uint16(n))
	b[18] = d.Type
	copy(b[19:], d.Name)
	return n
}
