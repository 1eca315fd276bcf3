package fs

import "sync/atomic"

// PathOf writes the absolute path of directory ino at the end of buf and
// returns its length (the path is buf[len(buf)-n:]), walking ".." links up
// to the root and finding each name in its parent. ENOENT when the
// directory was removed, ENAMETOOLONG when buf is too short.
// Context: trap; does not allocate.
func (fs *FS) PathOf(m *Mem, ino Ino, buf []byte) (int, Errno) {
	n := 0
	for ino != RootIno {
		ip := fs.node(ino)
		if ip == nil || atomic.LoadUint32(&ip.nlink) == 0 || !fs.IsDir(ino) { // mkdirs in it may run beside
			return 0, ENOENT
		}
		parent := &fs.inodes[ip.parent]
		rlockData(parent) // creates and unlinks may change it beside this call (Mem.Shared)
		name, found := entryName(m, parent, ino)
		k := len(name)
		fits := found && n+k+1 <= len(buf)
		if fits {
			copy(buf[len(buf)-n-k:], name)
		}
		runlockData(parent)
		switch {
		case !found:
			return 0, ENOENT
		case !fits:
			return 0, ENAMETOOLONG
		}
		n += k
		buf[len(buf)-n-1] = '/'
		n++
		ino = ip.parent
	}
	if n == 0 {
		buf[len(buf)-1] = '/'
		n = 1
	}
	return n, ok
}

// entryName returns the name under which directory dir holds ino.
// Context: trap; does not allocate.
func entryName(m *Mem, dir *inode, ino Ino) ([]byte, bool) {
	for off := int64(0); off < dir.size; {
		r, good := recordAt(m, dir, off)
		if !good {
			break
		}
		if r.ino == ino {
			return r.name, true
		}
		off += int64(r.length)
	}
	return nil, false
}
