package fs

// PathOf writes the absolute path of directory ino at the end of buf and
// returns its length (the path is buf[len(buf)-n:]), walking ".." links up
// to the root and finding each name in its parent. ENOENT when the
// directory was removed, ENAMETOOLONG when buf is too short.
// Context: trap; does not allocate.
func (fs *FS) PathOf(m *Mem, ino Ino, buf []byte) (int, Errno) {
	n := 0
	for ino != RootIno {
		ip := fs.node(ino)
		if ip == nil || ip.nlink == 0 || !fs.IsDir(ino) {
			return 0, ENOENT
		}
		parent := &fs.inodes[ip.parent]
		name, found := entryName(m, parent, ino)
		if !found {
			return 0, ENOENT
		}
		if n+len(name)+1 > len(buf) {
			return 0, ENAMETOOLONG
		}
		copy(buf[len(buf)-n-len(name):], name)
		n += len(name)
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
