package fs

import "golang.org/x/sys/unix"

// The initramfs format: cpio "newc" (SVR4 with or without CRC), as the
// host side writes it with u-root's pkg/cpio and as Linux unpacks it.
// Each entry is a 110-byte ASCII header, the NUL-terminated name padded to
// 4 bytes, and the data padded to 4 bytes; "TRAILER!!!" ends the archive.

const (
	cpioHeader  = 110
	cpioTrailer = "TRAILER!!!"
	// maxHardLinks bounds the multiply linked files of one archive.
	maxHardLinks = 256
)

// UnpackResult says what Unpack did, and where it stopped on bad input.
type UnpackResult struct {
	Entries  int    // entries applied
	Skipped  int    // entries of kinds the file system does not hold (FIFOs, sockets, block devices)
	Archives int    // archives ended by a trailer (several may be concatenated)
	Err      string // "" on success; otherwise what was wrong
	Offset   int    // the byte offset of the bad entry
	Errno    Errno  // the file system's error, when that was the cause
}

// cpioEntry is one decoded header.
type cpioEntry struct {
	ino, mode, uid, gid, nlink, mtime, size, rdevMajor, rdevMinor, nameSize uint64
}

// hardLink maps an archive inode number to the file made for it.
type hardLink struct {
	archive uint64
	ino     Ino
}

// Unpack applies the cpio archive a to the file system: directories are
// made (missing parents too), files and links are created or replace what
// is there, so a later archive overrides an earlier one.
// Context: boot; does not allocate.
func (fs *FS) Unpack(m *Mem, a []byte) UnpackResult {
	var r UnpackResult
	var links [maxHardLinks]hardLink
	nlinks := 0
	off := 0 // the entry's start; where the archive is bad, once why is set
	why := ""
	for off < len(a) {
		if len(a)-off < cpioHeader {
			why = "archive ends inside an entry header"
			break
		}
		// The header: the magic, then 13 fields of 8 hexadecimal digits
		// (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
		// devminor, rdevmajor, rdevminor, namesize, check).
		var f [13]uint64
		good := string(a[off:off+6]) == "070701" || string(a[off:off+6]) == "070702"
		for i := 0; good && i < len(f); i++ {
			f[i], good = hex8(a[off+6+8*i : off+14+8*i])
		}
		if !good {
			why = "not a cpio newc header (magic 070701 or 070702 expected)"
			break
		}
		h := cpioEntry{ino: f[0], mode: f[1], uid: f[2], gid: f[3], nlink: f[4], mtime: f[5], size: f[6],
			rdevMajor: f[9], rdevMinor: f[10], nameSize: f[11]}
		nameStart := off + cpioHeader
		nameEnd := nameStart + int(h.nameSize)
		dataStart := align4(nameEnd)
		dataEnd := dataStart + int(h.size)
		if h.nameSize == 0 || h.nameSize > PathMax || h.size > MaxFileSize || dataEnd > len(a) || dataEnd < dataStart {
			why = "entry name or data runs past the end of the archive"
			break
		}
		name := a[nameStart : nameEnd-1]
		if a[nameEnd-1] != 0 {
			why = "entry name is not NUL-terminated"
			break
		}
		for i, c := range name { // a C string, as Linux reads it
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if string(name) == cpioTrailer { // another archive may follow, after zero padding
			off = align4(dataEnd)
			for off < len(a) && a[off] == 0 {
				off++
			}
			if off < len(a) { // any number of zeros may end the input
				off &^= 3
			}
			r.Archives++
			continue
		}
		// The entry, made with the file system's clock at its
		// modification time, in its directory, made first if missing;
		// the directory keeps the time of its own entry, not of its last
		// child's, as Linux's initramfs (dir_utime) has it.
		saved := fs.Now
		fs.Now = int64(h.mtime) * 1e9
		dir, base, e := fs.makeParents(m, trimName(name))
		if e == ok {
			dp := &fs.inodes[dir]
			mtime, ctime := dp.mtime, dp.ctime
			e, nlinks = fs.makeEntry(m, &h, dir, base, a[dataStart:dataEnd], &links, nlinks, &r)
			if len(base) > 0 {
				dp.mtime, dp.ctime = mtime, ctime
			}
		}
		fs.Now = saved
		if e != ok {
			r.Errno = e
			why = "cannot create the entry's file"
			break
		}
		if off = align4(dataEnd); off >= len(a) {
			why, off = "archive has no TRAILER!!! entry", len(a) // off may be past a missing pad
			break
		}
	}
	if why != "" {
		r.Err, r.Offset = why, off
	}
	return r
}

func align4(n int) int { return (n + 3) &^ 3 }

// trimName drops a leading "./" or "/" (archives name entries either way).
func trimName(n []byte) []byte {
	for len(n) > 0 && n[0] == '/' {
		n = n[1:]
	}
	for len(n) >= 2 && n[0] == '.' && n[1] == '/' {
		n = n[2:]
	}
	if string(n) == "." {
		return n[:0]
	}
	return n
}

// hex8 decodes 8 hexadecimal digits.
func hex8(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// makeEntry makes archive entry h, name base in directory dir, with
// its data, in the file system (Unpack sets the file system's clock to
// the entry's modification time first). Context: boot; does not
// allocate.
func (fs *FS) makeEntry(m *Mem, h *cpioEntry, dir Ino, base, data []byte, links *[maxHardLinks]hardLink, nlinks int, r *UnpackResult) (Errno, int) {
	typ := uint32(h.mode) & unix.S_IFMT
	perm := uint32(h.mode) & 0o7777
	if len(base) == 0 { // the root itself, or a name ending in "/": dir
		if typ == unix.S_IFDIR {
			ip := &fs.inodes[dir]
			ip.mode, ip.uid, ip.gid, ip.mtime = unix.S_IFDIR|perm, uint32(h.uid), uint32(h.gid), fs.Now
		}
		r.Entries++
		return ok, nlinks
	}
	var e Errno
	existing := fs.child(m, dir, base)
	if typ == unix.S_IFDIR {
		if existing != 0 && fs.IsDir(existing) {
			ip := &fs.inodes[existing]
			ip.mode, ip.uid, ip.gid, ip.mtime = unix.S_IFDIR|perm, uint32(h.uid), uint32(h.gid), fs.Now
			r.Entries++
			return ok, nlinks
		}
	}
	switch typ {
	case unix.S_IFDIR, unix.S_IFREG, unix.S_IFLNK, unix.S_IFCHR:
	default:
		r.Skipped++
		return ok, nlinks
	}
	if existing != 0 { // replaced: a directory only when empty
		if fs.IsDir(existing) {
			e = fs.Rmdir(m, dir, base)
		} else {
			e = fs.Unlink(m, dir, base)
		}
		if e != ok {
			return e, nlinks
		}
	}
	if typ == unix.S_IFREG && h.nlink > 1 {
		for i := 0; i < nlinks; i++ {
			if links[i].archive == h.ino && fs.node(links[i].ino) != nil {
				if e := fs.Link(m, links[i].ino, dir, base); e != ok {
					return e, nlinks
				}
				if len(data) > 0 { // newc carries the data with the last link
					if n, e := fs.writeData(m, &fs.inodes[links[i].ino], 0, data); e != ok || n != len(data) {
						return ENOSPC, nlinks
					}
				}
				r.Entries++
				return ok, nlinks
			}
		}
	}
	var ino Ino
	if typ == unix.S_IFLNK {
		ino, e = fs.Symlink(m, dir, base, data)
	} else {
		ino, e = fs.Create(m, dir, base, typ|perm, uint32(h.rdevMajor<<8|h.rdevMinor&0xff))
		if e == ok && typ == unix.S_IFREG && len(data) > 0 {
			if n, we := fs.writeData(m, &fs.inodes[ino], 0, data); we != ok || n != len(data) {
				e = ENOSPC
			}
		}
	}
	if e != ok {
		return e, nlinks
	}
	ip := &fs.inodes[ino]
	ip.uid, ip.gid = uint32(h.uid), uint32(h.gid)
	if typ == unix.S_IFREG && h.nlink > 1 && nlinks < maxHardLinks {
		links[nlinks] = hardLink{archive: h.ino, ino: ino}
		nlinks++
	}
	r.Entries++
	return ok, nlinks
}

// makeParents returns the directory that will hold path's last component,
// creating missing directories (mode 0755) on the way, and that component.
// Context: boot; does not allocate.
func (fs *FS) makeParents(m *Mem, path []byte) (Ino, []byte, Errno) {
	dir := RootIno
	for {
		k := 0
		for k < len(path) && path[k] != '/' {
			k++
		}
		if k == len(path) {
			if len(path) > NameMax {
				return 0, nil, ENAMETOOLONG
			}
			return dir, path, ok
		}
		comp := path[:k]
		path = path[k+1:]
		if len(comp) == 0 || string(comp) == "." {
			continue
		}
		next := fs.child(m, dir, comp)
		if next == 0 {
			var e Errno
			dp := &fs.inodes[dir]
			mtime, ctime := dp.mtime, dp.ctime
			if next, e = fs.Create(m, dir, comp, unix.S_IFDIR|0o755, 0); e != ok {
				return 0, nil, e
			}
			dp.mtime, dp.ctime = mtime, ctime // as in Unpack
		}
		if !fs.IsDir(next) {
			return 0, nil, ENOTDIR
		}
		dir = next
	}
}
