package image

import (
	"bytes"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// FilesArchiveFile is the name of the initramfs archive (BuildOptions.Files)
// that the overlay adds next to OverlayFile, which embeds it.
const FilesArchiveFile = "zz_gometal_files.cpio"

// EmbeddedArchiveSymbol is the kernel's string variable that the overlay
// file's embedded archive is linked to (kernel/fs.embeddedArchive).
const EmbeddedArchiveSymbol = "github.com/gometal/gometal/kernel/fs.embeddedArchive"

// FileSpec is one parsed element of BuildOptions.Files: the host file or
// directory Host goes to the absolute guest path Guest ("/" for a
// directory whose contents become the guest's root).
type FileSpec struct {
	Host, Guest string
}

// ParseFileSpec parses "DIR" (the host directory DIR's contents go to the
// guest's root) or "HOST:GUEST" (the host file or directory HOST goes to
// the absolute guest path GUEST). The spec is split at its first colon, so
// HOST cannot contain one; GUEST may. It checks only the syntax.
func ParseFileSpec(s string) (FileSpec, error) {
	host, guest, ok := strings.Cut(s, ":")
	if !ok {
		guest = "/"
	}
	switch {
	case host == "":
		return FileSpec{}, fmt.Errorf("files %q: no host path", s)
	case !strings.HasPrefix(guest, "/"):
		return FileSpec{}, fmt.Errorf("files %q: guest path %q is not absolute", s, guest)
	case strings.ContainsRune(guest, 0):
		return FileSpec{}, fmt.Errorf("files %q: guest path contains a NUL byte", s)
	}
	return FileSpec{Host: host, Guest: path.Clean(guest)}, nil
}

// fileEntry is one guest path of the archive.
type fileEntry struct {
	guest string      // clean, absolute
	host  string      // its source; "" for a parent directory made up for it
	info  fs.FileInfo // Lstat of host; nil for a made-up directory
}

func (e fileEntry) isDir() bool { return e.info == nil || e.info.IsDir() }

// fileSet collects the entries of an archive by guest path.
type fileSet map[string]fileEntry

// FilesArchive returns the cpio newc archive (with its trailer) holding
// files, each a spec for ParseFileSpec:
//
//   - a host directory's contents are added recursively; symbolic links
//     inside it are kept as links, while a HOST or DIR that is itself a
//     link is followed;
//   - every guest path's parent directories are in the archive, before
//     it: the ones that no spec provides with mode 0755 and mtime 0;
//   - records are sorted by guest path, named without the leading "/"
//     ("etc/hosts"), owned by root, and keep the host's permission bits
//     (with setuid, setgid and sticky) and modification time; the root
//     directory itself has no record;
//   - a directory named by several specs is merged (the first spec's mode
//     and mtime count); the same guest path from two different host files,
//     or a file where another spec needs a directory, is an error, as are a
//     missing host path, a relative GUEST, a file as the guest root and
//     host files other than regular files, directories and symbolic links.
//
// The archive depends only on the specs and the host files' contents and
// metadata.
func FilesArchive(files []string) ([]byte, error) {
	specs := make([]FileSpec, 0, len(files))
	for _, f := range files {
		s, err := ParseFileSpec(f)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	set := fileSet{}
	for i, s := range specs {
		if err := set.addSpec(s); err != nil {
			return nil, fmt.Errorf("files %q: %w", files[i], err)
		}
	}
	if err := set.addParents(); err != nil {
		return nil, err
	}
	return set.archive()
}

// addSpec adds s's host file or tree.
func (set fileSet) addSpec(s FileSpec) error {
	host, err := filepath.EvalSymlinks(s.Host)
	if err != nil {
		return fmt.Errorf("host path: %w", err)
	}
	host, err = filepath.Abs(host)
	if err != nil {
		return err
	}
	top, err := os.Lstat(host)
	if err != nil {
		return fmt.Errorf("host path: %w", err)
	}
	if !top.IsDir() {
		if s.Guest == "/" {
			return fmt.Errorf("%s is not a directory: a file needs a guest path (HOST:GUEST)", s.Host)
		}
		return set.add(fileEntry{guest: s.Guest, host: host, info: top})
	}
	return filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if p == host {
			info = top
		}
		rel, err := filepath.Rel(host, p)
		if err != nil {
			return err
		}
		return set.add(fileEntry{guest: path.Join(s.Guest, filepath.ToSlash(rel)), host: p, info: info})
	})
}

// add puts e into the set, merging directories and rejecting conflicts.
func (set fileSet) add(e fileEntry) error {
	switch t := e.info.Mode().Type(); {
	case t == 0, t == fs.ModeDir, t == fs.ModeSymlink:
	default:
		return fmt.Errorf("%s: unsupported file type %v (only regular files, directories and symbolic links)", e.host, t)
	}
	if e.info.Mode().IsRegular() && e.info.Size() > math.MaxUint32 {
		return fmt.Errorf("%s: %d bytes, more than a cpio newc record holds (4 GiB)", e.host, e.info.Size())
	}
	old, ok := set[e.guest]
	switch {
	case !ok:
		set[e.guest] = e
	case old.host == e.host:
		// the same file through two specs
	case old.isDir() && e.isDir():
		// merged; the first spec's metadata counts
	default:
		return fmt.Errorf("guest path %s comes from both %s and %s", e.guest, old.host, e.host)
	}
	return nil
}

// addParents adds a directory for every missing parent of a guest path
// and checks that no parent is a file.
func (set fileSet) addParents() error {
	guests := make([]string, 0, len(set))
	for g := range set {
		guests = append(guests, g)
	}
	sort.Strings(guests)
	for _, g := range guests {
		for d := path.Dir(g); d != "/"; d = path.Dir(d) {
			p, ok := set[d]
			if !ok {
				set[d] = fileEntry{guest: d}
				continue
			}
			if !p.isDir() {
				return fmt.Errorf("files: guest path %s (from %s) needs %s to be a directory, but it is %s", g, set[g].host, d, p.host)
			}
		}
	}
	return nil
}

// archive writes the set as a sorted newc archive.
func (set fileSet) archive() ([]byte, error) {
	guests := make([]string, 0, len(set))
	for g := range set {
		if g != "/" {
			guests = append(guests, g)
		}
	}
	sort.Strings(guests)
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	for i, g := range guests {
		rec, err := set[g].record(uint64(i + 1))
		if err != nil {
			return nil, err
		}
		if err := w.WriteRecord(rec); err != nil {
			return nil, fmt.Errorf("files: %s: %w", g, err)
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// record returns e's cpio record with inode number ino.
func (e fileEntry) record(ino uint64) (cpio.Record, error) {
	info := cpio.Info{Ino: ino, Name: strings.TrimPrefix(e.guest, "/"), NLink: 1}
	if e.info == nil {
		info.Mode, info.NLink = cpio.S_IFDIR|0o755, 2
		return cpio.Record{Info: info}, nil
	}
	info.Mode = linuxPerm(e.info.Mode())
	info.MTime = uint64(min(max(e.info.ModTime().Unix(), 0), math.MaxUint32))
	switch {
	case e.info.IsDir():
		info.Mode |= cpio.S_IFDIR
		info.NLink = 2
		return cpio.Record{Info: info}, nil
	case e.info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(e.host)
		if err != nil {
			return cpio.Record{}, err
		}
		info.Mode |= cpio.S_IFLNK
		return cpio.StaticRecord([]byte(target), info), nil
	}
	data, err := os.ReadFile(e.host)
	if err != nil {
		return cpio.Record{}, err
	}
	info.Mode |= cpio.S_IFREG
	return cpio.StaticRecord(data, info), nil
}

// linuxPerm returns m's permission bits in Linux's numbering: rwx for
// user, group and other plus setuid, setgid and sticky.
func linuxPerm(m fs.FileMode) uint64 {
	p := uint64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// filesDecls is the declaration of OverlayFile that embeds
// FilesArchiveFile and links it to the string variable symbol (such as
// EmbeddedArchiveSymbol). It goes after the imports, "embed" and "unsafe"
// among them (overlaySource).
func filesDecls(symbol string) string {
	return "// The initramfs archive of gometal build --files.\n" +
		"//\n" +
		"//go:embed " + FilesArchiveFile + "\n" +
		"//go:linkname gometalFiles " + symbol + "\n" +
		"var gometalFiles string\n"
}
