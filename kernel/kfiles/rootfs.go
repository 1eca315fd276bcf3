package kfiles

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// BeginRoot starts the root file system the program starts with: the
// directories and device nodes Linux's initramfs users expect, the
// kernel's generated files, then the archive embedded in the image.
// Package kernel's setupFiles then applies the boot modules' archives in
// order (Unpack, each overriding what came before) and ends with EndRoot.
// Context: boot, after vm.Setup, before startProgram; does not allocate.
func BeginRoot() fs.Mem {
	vfs.Root.Now = vfs.RealtimeNs()
	vfs.Root.Init()
	m := vfs.Mem()
	// The directories, devices, links and files every image has. (The
	// loops range over slices of the tables: a range over an array copies
	// it first, issue 16's budget.)
	for _, d := range baseDirs[:] {
		makeNode(&m, d.path, unix.S_IFDIR|d.mode, 0, "")
	}
	for _, d := range baseDevices[:] {
		makeNode(&m, d.path, unix.S_IFCHR|0o666, d.rdev, "")
	}
	makeNode(&m, "/proc/self/fd", unix.S_IFDIR|0o500, fsys.ProcFDMark, "")
	for i, p := range Paths[:] {
		makeNode(&m, p, unix.S_IFREG|0o444, fsys.KernelFileMark|uint32(i), "")
	}
	for _, f := range baseFiles[:] {
		makeNode(&m, f.path, unix.S_IFREG|0o644, 0, f.content)
	}
	for _, l := range baseLinks[:] {
		makeNode(&m, l.path, unix.S_IFLNK|0o777, 0, l.target)
	}
	Unpack(&m, []byte(fs.EmbeddedArchive()), "the archive embedded in the image")
	return m
}

// EndRoot makes dir the working directory when the cwd= option gave it
// (ok), else the root, holding it (a chdir ends the hold: fsys.SetCwd),
// and logs the root file system's size. A cwd= that names no directory
// stops the boot with a clear message.
// Context: boot; does not allocate.
func EndRoot(m *fs.Mem, dir string, ok bool) {
	if !ok {
		dir = "/"
	}
	setBootCwd(m, dir)
	var l klog.Line
	l.S("root file system: ").U(uint64(vfs.Root.InodesUsed)).S(" files, ").U(uint64(vfs.Root.PagesHeld) * fs.PageSize >> 10).S(" KiB")
	if vfs.Cwd != int32(fs.RootIno) {
		var p fs.Path
		if n, e := vfs.Root.PathOf(m, fs.Ino(vfs.Cwd), p.Buf[:]); e == 0 {
			l.S(", working directory ").B(p.Buf[len(p.Buf)-n:])
		}
	}
	l.Info()
}

// baseDirs are made before any archive, with their modes.
var baseDirs = [...]struct {
	path string
	mode uint32
}{
	{"/dev", 0o755}, {"/etc", 0o755}, {"/proc", 0o555}, {"/proc/self", 0o555},
	{"/proc/gometal", 0o555}, {"/proc/sys", 0o555}, {"/proc/sys/kernel", 0o555},
	{"/tmp", 0o1777}, {"/root", 0o700}, {"/home", 0o755}, {"/usr", 0o755},
	{"/usr/bin", 0o755}, {"/usr/sbin", 0o755}, {"/usr/lib", 0o755}, {"/usr/local", 0o755},
	{"/usr/share", 0o755}, {"/var", 0o755}, {"/var/tmp", 0o1777}, {"/run", 0o755},
	{"/mnt", 0o755}, {"/opt", 0o755}, {"/proc/sys/fs", 0o555},
}

// baseLinks are symbolic links of the base tree (the merged /usr layout).
var baseLinks = [...]struct{ path, target string }{
	{"/bin", "usr/bin"}, {"/sbin", "usr/sbin"}, {"/lib", "usr/lib"},
	{"/proc/self/exe", "/init"}, {"/dev/fd", "/proc/self/fd"},
}

// baseDevices are the character devices of /dev.
var baseDevices = [...]struct {
	path string
	rdev uint32
}{
	{"/dev/null", fsys.DevNull}, {"/dev/zero", fsys.DevZero}, {"/dev/full", fsys.DevFull},
	{"/dev/random", fsys.DevRandom}, {"/dev/urandom", fsys.DevURandom}, {"/dev/kmsg", fsys.DevKmsg},
}

// baseFiles are ordinary files with fixed content.
var baseFiles = [...]struct{ path, content string }{
	{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
	{"/etc/group", "root:x:0:\nnogroup:x:65534:\n"},
	{"/etc/hostname", "gometal\n"},
	{"/etc/services", servicesFile},
}

// servicesFile is a small /etc/services: the well-known ports programs
// look up by name most (net.LookupPort also has these built in).
const servicesFile = "# Network services (a short list; see net.LookupPort)\n" +
	"ftp\t\t21/tcp\nssh\t\t22/tcp\ntelnet\t\t23/tcp\nsmtp\t\t25/tcp\tmail\n" +
	"domain\t\t53/tcp\ndomain\t\t53/udp\nhttp\t\t80/tcp\twww\npop3\t\t110/tcp\n" +
	"ntp\t\t123/udp\nimap\t\t143/tcp\nsnmp\t\t161/udp\nhttps\t\t443/tcp\n" +
	"submission\t587/tcp\nimaps\t\t993/tcp\npop3s\t\t995/tcp\n"

// makeNode makes one file of the base tree (its parent must exist);
// content is a regular file's data or a link's target. Context: boot.
func makeNode(m *fs.Mem, path string, mode, rdev uint32, content string) {
	var p fs.Path
	p.N = copy(p.Buf[:], path)
	found, e := vfs.Root.Resolve(m, fs.RootIno, &p, false)
	if e == 0 && found.Ino == 0 {
		var ino fs.Ino
		if mode&unix.S_IFMT == unix.S_IFLNK {
			ino, e = vfs.Root.Symlink(m, found.Dir, found.Name, []byte(content))
		} else {
			ino, e = vfs.Root.Create(m, found.Dir, found.Name, mode, rdev)
			if e == 0 && content != "" {
				_, e = vfs.Root.Write(m, ino, 0, []byte(content))
			}
		}
	}
	if e != 0 {
		var l klog.Line
		l.S("root file system: cannot make ").S(path).S(": ").S(fsys.ErrnoName(-int64(e))).Print()
	}
}

// Unpack applies one initramfs archive; a malformed one stops the boot.
// Context: boot; does not allocate.
func Unpack(m *fs.Mem, a []byte, what string) {
	if len(a) == 0 {
		return
	}
	r := vfs.Root.Unpack(m, a)
	var l klog.Line // one for either line: each Line zeroed costs code
	if r.Err == "" {
		l.S("initramfs: ").U(uint64(r.Entries)).S(" entries from ").S(what)
		if r.Skipped > 0 {
			l.S(" (").U(uint64(r.Skipped)).S(" FIFOs, sockets or block devices skipped)")
		}
		l.Info()
		return
	}
	l.S("initramfs: ").S(what).S(" is malformed at byte ").U(uint64(r.Offset)).S(": ").S(r.Err)
	if r.Errno != 0 {
		l.S(" (").S(fsys.ErrnoName(-int64(r.Errno))).S(")")
	}
	l.Print()
	kpanic.Panic("malformed initramfs", nil)
}

// FreeModule gives a boot module's pages to the frame allocator once its
// archive is unpacked. Context: boot, before vm.SetCommitLimit.
func FreeModule(mod boot.Module) {
	for pa := mm.PageRoundUp(mod.Base); pa+mm.PageSize <= mod.End(); pa += mm.PageSize {
		vm.Frames.Free(pa)
	}
}

// setBootCwd makes dir (the cwd= option, or "/") the working directory.
// Context: boot; does not allocate.
func setBootCwd(m *fs.Mem, dir string) {
	var p fs.Path
	p.N = copy(p.Buf[:], dir)
	found, e := vfs.Root.Resolve(m, fs.RootIno, &p, true)
	if e == 0 && (found.Ino == 0 || !vfs.Root.IsDir(found.Ino)) {
		e = unix.ENOTDIR
		if found.Ino == 0 {
			e = unix.ENOENT
		}
	}
	if e != 0 {
		var l klog.Line
		l.S("cwd=").S(dir).S(": not a directory of the root file system (").S(fsys.ErrnoName(-int64(e))).S(")").Print()
		kpanic.Panic("bad cwd= option", nil)
	}
	vfs.Root.Hold(found.Ino)
	vfs.Cwd = int32(found.Ino)
}
