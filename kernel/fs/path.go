package fs

import "golang.org/x/sys/unix"

// maxSymlinks bounds the symbolic links one resolution follows (ELOOP).
const maxSymlinks = 40

// Path is a path being resolved: the caller copies the user's string into
// Buf[:N]. Symbolic links are spliced into Buf in place, so it must have
// room for PathMax bytes.
type Path struct {
	Buf [PathMax]byte
	N   int
}

// Found is the result of a resolution.
type Found struct {
	// Dir is the directory that holds the last component (0 when the
	// path names the root or ends in "." or ".." of a directory that is
	// itself the result, as in "/" or "a/..").
	Dir Ino
	// Ino is the file the path names, 0 when the last component does not
	// exist (Dir and Name then say where it would be created).
	Ino Ino
	// Name is the last component (aliases Path.Buf).
	Name []byte
	// Slash says the path ended in a slash: it must name a directory.
	Slash bool
}

// Resolve walks p from the directory start (used for relative paths),
// following symbolic links in the middle, and in the last component when
// follow is set. A missing last component is not an error (Found.Ino is
// 0); a missing directory on the way is ENOENT.
// Context: trap; does not allocate.
func (fs *FS) Resolve(m *Mem, start Ino, p *Path, follow bool) (Found, Errno) {
	return fs.resolve(m, start, p, follow, false)
}

// ResolveEntry resolves p for a call that makes or removes the entry its
// last component names (mkdir, mknod, link, symlink, unlink, rmdir,
// rename): the last component is never followed, even with a trailing
// slash, and whether it is a directory is left to the caller, as Linux
// does. Context: trap; does not allocate.
func (fs *FS) ResolveEntry(m *Mem, start Ino, p *Path) (Found, Errno) {
	return fs.resolve(m, start, p, false, true)
}

// resolve is Resolve; entry selects ResolveEntry's treatment of the last
// component. Context: trap; does not allocate.
func (fs *FS) resolve(m *Mem, start Ino, p *Path, follow, entry bool) (Found, Errno) {
	if p.N == 0 {
		return Found{}, ENOENT
	}
	cur, pos, end, links := start, 0, p.N, 0
	for {
		if p.Buf[pos] == '/' {
			cur = RootIno
		}
		for pos < end && p.Buf[pos] == '/' {
			pos++
		}
		if pos == end { // "/" or a link to it
			return Found{Ino: cur, Name: dotName[:1]}, ok
		}
		for {
			if !fs.IsDir(cur) {
				return Found{}, ENOTDIR
			}
			k := pos
			for k < end && p.Buf[k] != '/' {
				k++
			}
			name := p.Buf[pos:k]
			if len(name) > NameMax {
				return Found{}, ENAMETOOLONG
			}
			pos = k
			for pos < end && p.Buf[pos] == '/' {
				pos++
			}
			last, slash := pos == end, k < end
			next := fs.child(m, cur, name)
			if last && next == 0 {
				return Found{Dir: cur, Name: name, Slash: slash}, ok
			}
			if next == 0 {
				return Found{}, ENOENT
			}
			if fs.Mode(next)&unix.S_IFMT == unix.S_IFLNK && (!last || !entry && (follow || slash)) {
				links++
				if links > maxSymlinks {
					return Found{}, ELOOP
				}
				var e Errno
				if pos, end, e = fs.splice(m, next, p, pos, end); e != ok {
					return Found{}, e
				}
				if slash && last { // keep the trailing slash's demand
					p.Buf[end] = '/'
					end++
				}
				break // restart at the link's target, from cur or the root
			}
			if last {
				dir := cur
				if string(name) == "." || string(name) == ".." {
					dir = 0
				}
				if slash && !entry && !fs.IsDir(next) { // Found says where, for open's EISDIR
					return Found{Dir: dir, Ino: next, Name: name, Slash: true}, ENOTDIR
				}
				return Found{Dir: dir, Ino: next, Name: name, Slash: slash}, ok
			}
			cur = next
		}
	}
}

// child returns the inode name names in directory dir, 0 if none. It
// reads dir under its data lock: creates, unlinks, rmdirs and renames
// of files may change it beside this call (Mem.Shared); ".." is dir's
// parent, which a directory removed beside keeps.
// Context: trap; does not allocate.
func (fs *FS) child(m *Mem, dir Ino, name []byte) Ino {
	ip := &fs.inodes[dir]
	switch string(name) {
	case ".":
		return dir
	case "..":
		return ip.parent
	}
	rlockData(ip)
	r, found := lookup(m, ip, name)
	runlockData(ip)
	if found {
		return r.ino
	}
	return 0
}

// splice replaces the resolved part of p with the target of link, keeping
// the rest (Buf[pos:end]), and returns the new bounds.
// Context: trap; does not allocate.
func (fs *FS) splice(m *Mem, link Ino, p *Path, pos, end int) (int, int, Errno) {
	ip := &fs.inodes[link]
	tl, rest := int(ip.size), end-pos
	if tl == 0 {
		return 0, 0, ENOENT
	}
	if tl+1+rest+1 > len(p.Buf) {
		return 0, 0, ENAMETOOLONG
	}
	if rest == 0 {
		readData(m, ip, 0, p.Buf[:tl])
		return 0, tl, ok
	}
	copy(p.Buf[tl+1:], p.Buf[pos:end])
	readData(m, ip, 0, p.Buf[:tl])
	p.Buf[tl] = '/'
	return 0, tl + 1 + rest, ok
}
