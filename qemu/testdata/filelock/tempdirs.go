package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gometal/gometal/qemu/testdata/lockstat"
	"golang.org/x/sys/unix"
)

// tempDirRounds is how many temporary directories each of the temp-dirs
// stage's threads makes and removes.
const tempDirRounds = 64

// sharedTempDirs has sharedReaders threads each make a temporary
// directory round after round, as t.TempDir does (os.MkdirTemp), write
// two files and a subdirectory with a file into it, read one back, give
// a file a second name, a symbolic link and an empty file made with
// mknod beside it (names), change two files' modes and owners by path
// and through a descriptor (modes), make it the working directory by
// path and through a descriptor and set the creation mask (workDir),
// remove it all with os.RemoveAll (unlinkat of each file and tries of
// each directory, which answer EISDIR, getdents64 of each directory, and
// rmdir: unlinkat with AT_REMOVEDIR, three a round), then check
// that the directory is gone and move the working directory to "/"
// (it may still be the removed directory, or another thread's). Every
// path is absolute, so the working directory the threads share changes
// nothing else they do. gometal serves the mkdirs, the creates,
// the links, symlinks and mknods, the chmods and chowns, the chdirs,
// fchdirs and umasks, the unlinks
// and the rmdirs under the files lock held shared, beside each other,
// each under its directories' or its file's data locks (kernel/fs's
// Create, Link, Symlink, SetAttr, Unlink and Rmdir); the stage returns the files lock's holds
// over that loop. It says what it did, in counts that do not depend on
// the timing.
func sharedTempDirs(dir string) (string, lockstat.Holds) {
	defer unix.Umask(unix.Umask(0o022)) // the mask the workers set and expect, the host's restored after
	before := lockstat.FilesLock()
	bad := lockstat.OnThreads(sharedReaders, func(n int) error { return tempDirWorker(dir, n) })
	holds := lockstat.FilesLock().Since(before)
	check(os.Chdir("/"))
	if bad != "" {
		return bad, lockstat.Holds{}
	}
	left, err := os.ReadDir(dir)
	check(err)
	for _, e := range left {
		if filepath.Ext(e.Name()) == ".tmp" {
			return fmt.Sprintf("%s left behind", e.Name()), lockstat.Holds{}
		}
	}
	return fmt.Sprintf("%d threads made and removed %d temporary directories each, with their files, links and subdirectories", sharedReaders, tempDirRounds), holds
}

// names gives tmp's file a a second name (link), a symbolic link to it
// and an empty file made with mknod, and checks them: the link count,
// the link's target and what it leads to, the new file's mode.
func names(tmp string) error {
	a, hard, sym, node := filepath.Join(tmp, "a"), filepath.Join(tmp, "hard"), filepath.Join(tmp, "sym"), filepath.Join(tmp, "node")
	if err := os.Link(a, hard); err != nil {
		return err
	}
	if err := os.Symlink("a", sym); err != nil {
		return err
	}
	if err := unix.Mknod(node, unix.S_IFREG|0o600, 0); err != nil {
		return fmt.Errorf("mknod: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(hard, &st); err != nil || st.Nlink != 2 {
		return fmt.Errorf("stat of the second name: nlink %d, %v", st.Nlink, err)
	}
	if target, err := os.Readlink(sym); err != nil || target != "a" {
		return fmt.Errorf("readlink: %q, %v", target, err)
	}
	if got, err := os.ReadFile(sym); err != nil || len(got) == 0 {
		return fmt.Errorf("read through the link: %q, %v", got, err)
	}
	if err := unix.Stat(node, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
		return fmt.Errorf("stat of the mknod's file: mode %o, size %d, %v", st.Mode, st.Size, err)
	}
	return modes(a, node)
}

// modes changes a's mode and owner by path (chmod, chown: the owner it
// has, which any user may give) and node's through a descriptor
// (fchmod, fchown), and checks what stat then shows.
func modes(a, node string) error {
	uid, gid := os.Getuid(), os.Getgid()
	if err := os.Chmod(a, 0o640); err != nil {
		return err
	}
	if err := os.Chown(a, uid, gid); err != nil {
		return err
	}
	f, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o604); err != nil {
		f.Close()
		return err
	}
	if err := f.Chown(uid, gid); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var st unix.Stat_t
	for _, c := range []struct {
		path string
		mode uint32
	}{{a, unix.S_IFREG | 0o640}, {node, unix.S_IFREG | 0o604}} {
		if err := unix.Stat(c.path, &st); err != nil || st.Mode != c.mode || int(st.Uid) != uid || int(st.Gid) != gid {
			return fmt.Errorf("stat of %s after chmod and chown: mode %o, owner %d:%d, %v", filepath.Base(c.path), st.Mode, st.Uid, st.Gid, err)
		}
	}
	return nil
}

// workDir makes tmp the working directory by its path (chdir) and then
// through a descriptor of it (fchdir), and sets the creation mask to
// 022, which every thread sets: umask must answer 022. (Another thread
// may move the working directory at any time, so what it is afterwards
// is not checked here.)
func workDir(tmp string) error {
	if err := os.Chdir(tmp); err != nil {
		return err
	}
	d, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = d.Chdir()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fchdir: %v", err)
	}
	if old := unix.Umask(0o022); old != 0o022 {
		return fmt.Errorf("umask answered %o, want 22", old)
	}
	return nil
}

// tempDirWorker is thread n's loop of the temp-dirs stage in dir.
func tempDirWorker(dir string, n int) error {
	want := []byte(fmt.Sprintf("thread %d", n))
	for i := range tempDirRounds {
		tmp, err := os.MkdirTemp(dir, fmt.Sprintf("t%d-*.tmp", n))
		if err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
		sub := filepath.Join(tmp, "sub")
		for _, step := range []error{
			os.WriteFile(filepath.Join(tmp, "a"), want, 0o644),
			os.WriteFile(filepath.Join(tmp, "b"), nil, 0o644),
			os.Mkdir(sub, 0o755),
			os.WriteFile(filepath.Join(sub, "c"), want, 0o644),
		} {
			if step != nil {
				return fmt.Errorf("round %d: %v", i, step)
			}
		}
		if got, err := os.ReadFile(filepath.Join(sub, "c")); err != nil || string(got) != string(want) {
			return fmt.Errorf("round %d: read back %q, %v", i, got, err)
		}
		if err := names(tmp); err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
		if err := workDir(tmp); err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
		if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
			return fmt.Errorf("round %d: %s after RemoveAll: %v", i, tmp, err)
		}
		if err := os.Chdir("/"); err != nil {
			return fmt.Errorf("round %d: %v", i, err)
		}
	}
	return nil
}

// nodeAnswers makes nodes of several kinds in dir with mknod, mkdir and
// symlink and says what each answered, as Linux answers them (the
// umask set to 022 on both sides): mknod of type 0 makes a regular
// file and of a socket a socket's file, of a directory it is EPERM, of
// a link or an unknown type EINVAL; mkdir drops the set-id bits of its
// mode; symlink with an empty target is ENOENT, even over a name that
// exists; a chown drops a file's set-id bits (set-group-ID as group
// execute is set), not a directory's.
func nodeAnswers(dir string) string {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	var out []string
	for _, c := range []struct {
		name string
		mode uint32
	}{
		{"zero", 0o644},
		{"sock", unix.S_IFSOCK | 0o644},
		{"dir", unix.S_IFDIR | 0o755},
		{"lnk", unix.S_IFLNK | 0o777},
		{"odd", 0o170000 | 0o644},
	} {
		path := filepath.Join(dir, "node-"+c.name)
		err := unix.Mknod(path, c.mode, 0)
		var st unix.Stat_t
		if err == nil {
			err = unix.Lstat(path, &st)
			check(os.Remove(path))
		}
		out = append(out, fmt.Sprintf("mknod %s: %v %o", c.name, err, st.Mode))
	}
	d := filepath.Join(dir, "setid")
	err := unix.Mkdir(d, unix.S_ISUID|unix.S_ISGID|unix.S_ISVTX|0o777)
	var st unix.Stat_t
	if err == nil {
		err = unix.Stat(d, &st)
		check(os.Remove(d))
	}
	out = append(out, fmt.Sprintf("mkdir with set-id bits: %v %o", err, st.Mode))
	out = append(out, fmt.Sprintf("symlink to nothing over an existing name: %v", unix.Symlink("", dir)))
	for _, name := range []string{"setid-file", "setid-dir"} {
		path := filepath.Join(dir, name)
		if name == "setid-dir" {
			check(os.Mkdir(path, 0o755))
		} else {
			check(os.WriteFile(path, nil, 0o755))
		}
		check(unix.Chmod(path, unix.S_ISUID|unix.S_ISGID|0o755))
		check(os.Chown(path, os.Getuid(), os.Getgid()))
		var st unix.Stat_t
		check(unix.Stat(path, &st))
		check(os.Remove(path))
		out = append(out, fmt.Sprintf("chown of a %s with set-id bits: %o", name, st.Mode))
	}
	return strings.Join(out, "; ")
}
