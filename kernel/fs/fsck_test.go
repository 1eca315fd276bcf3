package fs

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// indexPages counts the index pages of ip's tree (recursion is fine on
// the host).
func indexPages(m *Mem, pa uint64, level uint8) int64 {
	if level == 0 || pa == 0 {
		return 0
	}
	n := int64(1)
	for _, child := range m.index(pa) {
		if child != 0 {
			n += indexPages(m, child, level-1)
		}
	}
	return n
}

// fsck checks the file system's invariants: every directory's records
// name live inodes of the recorded type, counts agree (entries, link
// counts, inodes, pages), and every page taken is accounted for.
func fsck(t testing.TB, fs *FS, m *Mem) {
	t.Helper()
	refs := make(map[Ino]uint32)
	subdirs := make(map[Ino]uint32)
	seen := map[Ino]bool{RootIno: true}
	queue := []Ino{RootIno}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		ip := fs.node(d)
		require.NotNil(t, ip)
		var entries int32
		for pos := int64(0); ; {
			de, more := fs.ReadDir(m, d, pos)
			if !more {
				break
			}
			require.Greater(t, de.Next, pos)
			pos = de.Next
			switch string(de.Name) {
			case ".":
				require.Equal(t, d, de.Ino)
				continue
			case "..":
				require.Equal(t, ip.parent, de.Ino)
				continue
			}
			entries++
			require.NotEmpty(t, de.Name)
			require.NotContains(t, string(de.Name), "/")
			require.NotContains(t, string(de.Name), "\x00")
			require.LessOrEqual(t, len(de.Name), NameMax)
			cp := fs.node(de.Ino)
			require.NotNil(t, cp, "entry %q of %d names a free inode %d", de.Name, d, de.Ino)
			require.Equal(t, typeOf(cp.mode), de.Type, "entry %q", de.Name)
			if cp.mode&unix.S_IFMT == unix.S_IFDIR {
				require.False(t, seen[de.Ino], "directory %d linked twice", de.Ino)
				require.Equal(t, d, cp.parent, "parent of %q", de.Name)
				subdirs[d]++
				seen[de.Ino] = true
				queue = append(queue, de.Ino)
			} else {
				refs[de.Ino]++
				seen[de.Ino] = true
			}
		}
		require.Equal(t, ip.entries, entries, "entries of %d", d)
		require.Equal(t, 2+subdirs[d], ip.nlink, "nlink of directory %d", d)
	}
	live := 0
	var pages, index int64
	for i := range fs.inodes {
		ip := &fs.inodes[i]
		if ip.mode == 0 {
			require.Zero(t, ip.root, "a free inode holds pages")
			continue
		}
		live++
		pages += ip.pages
		index += indexPages(m, ip.root, ip.depth)
		if ip.opens == 0 {
			require.True(t, seen[Ino(i)], "inode %d is unreachable", i)
		}
		if ip.mode&unix.S_IFMT != unix.S_IFDIR && seen[Ino(i)] {
			require.Equal(t, refs[Ino(i)], ip.nlink, "nlink of %d", i)
		}
		if ip.mode&unix.S_IFMT == unix.S_IFLNK {
			require.Positive(t, ip.size, "an empty link")
		}
	}
	require.Equal(t, fs.InodesUsed, int64(live), "InodesUsed")
	require.Equal(t, fs.PagesHeld, pages, "PagesHeld")
	require.Equal(t, m.Taken, pages+index, "every page taken is held")
}
