package fdcalls

import (
	"sync"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLockRange: a struct flock's whence, start and length become the
// byte range [lo, hi) as Linux's fcntl locks read them: a length of 0
// runs to the end of the file, a negative one ends at start, and a range
// that begins before byte 0 or an unknown whence is EINVAL.
func TestLockRange(t *testing.T) {
	d := &vfs.Desc{Off: 100}
	cases := []struct {
		name          string
		whence        int
		start, length int64
		lo, hi, errno int64
	}{
		{"set", unix.SEEK_SET, 10, 5, 10, 15, 0},
		{"set to end", unix.SEEK_SET, 10, 0, 10, fs.ToEnd, 0},
		{"from the offset", unix.SEEK_CUR, -20, 10, 80, 90, 0},
		{"negative length", unix.SEEK_SET, 10, -4, 6, 10, 0},
		{"before byte 0", unix.SEEK_SET, 2, -4, 0, 0, -abi.EINVAL},
		{"offset below 0", unix.SEEK_CUR, -101, 1, 0, 0, -abi.EINVAL},
		{"bad whence", 7, 0, 1, 0, 0, -abi.EINVAL},
	}
	for _, c := range cases {
		lo, hi, e := lockRange(d, c.whence, c.start, c.length)
		assert.Equal(t, [3]int64{c.lo, c.hi, c.errno}, [3]int64{lo, hi, e}, c.name)
	}
}

// TestSeekPipeAndDevice: a pipe cannot seek (ESPIPE) and a device stays
// at offset 0, whatever is asked, as on Linux.
func TestSeekPipeAndDevice(t *testing.T) {
	assert.Equal(t, int64(-abi.ESPIPE), descSeek(fdtab.KindPipe, &vfs.Descs[0], 5, unix.SEEK_SET))
	assert.Equal(t, int64(0), descSeek(fdtab.KindDev, &vfs.Descs[0], 5, unix.SEEK_SET))
}

// fcntlFlagsCall returns a call of FcntlFlags, beside other CPUs' calls
// (shared) or alone, that asserts it was served.
func fcntlFlagsCall(t *testing.T, shared bool) func(fd, cmd int, arg uintptr) int64 {
	return func(fd, cmd int, arg uintptr) int64 {
		t.Helper()
		r, ok := FcntlFlags(fd, cmd, arg, shared)
		assert.True(t, ok, "fcntl(%d, %d) served", fd, cmd)
		return r
	}
}

// TestFcntlFlags: fcntl's flag commands, which the files lock alone
// serves, on descriptors of several kinds: the close-on-exec flag, the
// status flags (O_RDWR for a descriptor without a description, as
// Linux's console; O_NONBLOCK set and cleared; a socket's O_NONBLOCK on
// every descriptor of the socket, which dup shares), EBADF for a bad
// descriptor, and the other commands left to SysFcntl.
func TestFcntlFlags(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fdtab.Files[1] = fdtab.File{Kind: fdtab.KindConsole, Stream: 1}
	fdtab.Files[5] = fdtab.File{Kind: fdtab.KindSocket, Socket: 7}
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindSocket, Socket: 7} // a dup of 5
	fdtab.Files[7] = fdtab.File{Kind: fdtab.KindSocket, Socket: 8}
	call := fcntlFlagsCall(t, false)
	assert.Equal(t, int64(unix.O_RDWR), call(1, unix.F_GETFL, 0))
	fdtab.Files[9] = fdtab.File{Kind: fdtab.KindMemFile}
	assert.Equal(t, int64(abi.OLargefile), call(9, unix.F_GETFL, 0), "a kernel file: read-only, as Linux's /proc files")
	fdtab.Files[9] = fdtab.File{}
	assert.Equal(t, int64(0), call(1, unix.F_SETFL, unix.O_NONBLOCK|unix.O_APPEND))
	assert.True(t, fdtab.Files[1].Nonblock)
	assert.Equal(t, int64(unix.O_RDWR|unix.O_NONBLOCK), call(1, unix.F_GETFL, 0), "O_APPEND stays off without a description")
	assert.Equal(t, int64(0), call(1, unix.F_SETFL, 0))
	assert.Equal(t, int64(unix.O_RDWR), call(1, unix.F_GETFL, 0))

	assert.Equal(t, int64(0), call(1, unix.F_GETFD, 0))
	assert.Equal(t, int64(0), call(1, unix.F_SETFD, unix.FD_CLOEXEC))
	assert.Equal(t, int64(unix.FD_CLOEXEC), call(1, unix.F_GETFD, 0))

	call(5, unix.F_SETFL, unix.O_NONBLOCK)
	assert.True(t, fdtab.Files[6].Nonblock, "the socket's other descriptor")
	assert.False(t, fdtab.Files[7].Nonblock, "another socket")

	assert.Equal(t, int64(-abi.EINVAL), call(5, unix.F_SETFL, unix.O_DIRECT), "O_DIRECT on a socket")
	assert.Equal(t, int64(-abi.EINVAL), call(1, unix.F_SETFL, unix.O_DIRECT|unix.O_NONBLOCK), "O_DIRECT on the console")
	assert.False(t, fdtab.Files[1].Nonblock, "a refused F_SETFL changes nothing")
	assert.Equal(t, int64(-abi.EBADF), call(9, unix.F_GETFL, 0))
	assert.Equal(t, int64(-abi.EBADF), call(-1, unix.F_SETFD, 0))
	for _, cmd := range []int{unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_SETLK, unix.F_GETLK, unix.F_OFD_SETLKW, unix.F_GETPIPE_SZ, 999} {
		_, ok := FcntlFlags(1, cmd, 0, false)
		assert.False(t, ok, "command %d is SysFcntl's", cmd)
	}
}

// TestFcntlFlagsUnlocked: on a file's descriptor the flag commands
// served without the files lock answer and change what FcntlFlags does
// (the Go runtime's sequence on each open: F_GETFL, F_SETFL with
// O_NONBLOCK, F_GETFL, F_SETFL without it; and the close-on-exec flag);
// an F_SETFL that changes O_APPEND, another kind, a bad number and the
// other commands are declined, with nothing changed.
func TestFcntlFlagsUnlocked(t *testing.T) {
	saved, savedDesc := fdtab.Files, vfs.Descs[4]
	t.Cleanup(func() { fdtab.Files, vfs.Descs[4] = saved, savedDesc })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	vfs.Descs[4] = vfs.Desc{Refs: 2, Ino: 9, Flags: unix.O_WRONLY | abi.OLargefile}
	fdtab.Files[1] = fdtab.File{Kind: fdtab.KindConsole, Stream: 1}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindFile, Desc: 4, Cloexec: true}
	fdtab.Files[8] = fdtab.Files[3] // the locked path's twin
	both := func(cmd int, arg uintptr) int64 {
		t.Helper()
		r, ok := FcntlFlagsUnlocked(3, cmd, arg)
		require.True(t, ok, "fcntl(3, %d, %#x) served without the lock", cmd, arg)
		want, _ := FcntlFlags(8, cmd, arg, false)
		assert.Equal(t, want, r, "fcntl(%d, %#x)", cmd, arg)
		assert.Equal(t, fdtab.Files[8], fdtab.Files[3], "the same change")
		return r
	}
	fl := both(unix.F_GETFL, 0)
	assert.Equal(t, int64(unix.O_WRONLY|abi.OLargefile), fl)
	both(unix.F_SETFL, uintptr(fl|unix.O_NONBLOCK))
	assert.Equal(t, int64(unix.O_WRONLY|abi.OLargefile|unix.O_NONBLOCK), both(unix.F_GETFL, 0))
	both(unix.F_SETFL, uintptr(fl))
	assert.False(t, fdtab.Files[3].Nonblock)
	assert.Equal(t, int64(unix.FD_CLOEXEC), both(unix.F_GETFD, 0))
	both(unix.F_SETFD, 0)
	assert.Equal(t, int64(0), both(unix.F_GETFD, 0))

	for _, c := range []struct {
		fd, cmd int
		arg     uintptr
		why     string
	}{
		{3, unix.F_SETFL, unix.O_APPEND, "O_APPEND changes the description"},
		{3, unix.F_SETFL, unix.O_WRONLY | unix.O_NOATIME, "O_NOATIME changes the description"},
		{3, unix.F_SETFL, unix.O_WRONLY | unix.O_DIRECT, "O_DIRECT changes the description (or is EINVAL)"},
		{1, unix.F_GETFL, 0, "the console has no file's word"},
		{9, unix.F_GETFD, 0, "not open: the locked path answers EBADF"},
		{-1, unix.F_GETFD, 0, "out of range"},
		{fdtab.MaxFDs, unix.F_GETFD, 0, "out of range"},
		{3, unix.F_DUPFD, 0, "SysFcntl's"},
		{3, unix.F_SETLK, 0, "SysFcntl's"},
	} {
		before := fdtab.Files
		_, ok := FcntlFlagsUnlocked(c.fd, c.cmd, c.arg)
		assert.False(t, ok, c.why)
		assert.Equal(t, before, fdtab.Files, "nothing changed: %s", c.why)
	}
	assert.Equal(t, int32(unix.O_WRONLY|abi.OLargefile), vfs.Descs[4].Flags)

	fdtab.Files[3].Desc = vfs.MaxDescs // a word being filled: a Desc out of range
	_, ok := FcntlFlagsUnlocked(3, unix.F_GETFL, 0)
	assert.False(t, ok, "a Desc out of range is declined")
}

// TestFcntlFlagsUnlockedConcurrent: two threads changing different flags
// of one descriptor without the files lock, started together, lose
// neither's change (each swap fails if the other's landed since it
// looked, and is tried again): after 20,000 changes each, ending with
// both flags set, both are set.
func TestFcntlFlagsUnlockedConcurrent(t *testing.T) {
	var retries [2]int
	got := raceFlagCalls(t, fdtab.KindFile, func(who, cmd int, arg uintptr) {
		for {
			if _, ok := FcntlFlagsUnlocked(3, cmd, arg); ok {
				return
			}
			retries[who]++
		}
	})
	t.Logf("swaps tried again after the other's change: %v", retries)
	assert.Equal(t, fdtab.File{Kind: fdtab.KindFile, Desc: 4, Cloexec: true, Nonblock: true}, got,
		"the last F_SETFD set close-on-exec, the last F_SETFL O_NONBLOCK")
}

// raceFlagCalls makes descriptor 3 one of kind with description 4, and
// runs set from two goroutines started together: 20,000 F_SETFDs (who 0)
// and 20,000 F_SETFLs of O_NONBLOCK (who 1), alternating on and off,
// each ending with its flag set. It returns the descriptor as they left
// it, and puts the table back after the test.
func raceFlagCalls(t *testing.T, kind uint8, set func(who, cmd int, arg uintptr)) fdtab.File {
	saved, savedDesc := fdtab.Files[3], vfs.Descs[4]
	t.Cleanup(func() { fdtab.Files[3], vfs.Descs[4] = saved, savedDesc })
	vfs.Descs[4] = vfs.Desc{Refs: 1, Flags: unix.O_RDONLY}
	fdtab.Files[3] = fdtab.File{Kind: kind, Desc: 4}
	const changes = 20000
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		<-start
		for i := range changes {
			set(0, unix.F_SETFD, uintptr(1-i%2)*unix.FD_CLOEXEC)
		}
		set(0, unix.F_SETFD, unix.FD_CLOEXEC)
	})
	wg.Go(func() {
		<-start
		for i := range changes {
			set(1, unix.F_SETFL, uintptr(i%2)*unix.O_NONBLOCK)
		}
		set(1, unix.F_SETFL, unix.O_NONBLOCK)
	})
	close(start)
	wg.Wait()
	return fdtab.Files[3]
}

// TestInstallAndFree: a descriptor made by AllocDesc or Install has its
// whole word, and Free clears it; the word of a free slot is zero, which
// a flag call without the files lock declines.
func TestInstallAndFree(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd := fdtab.AllocDesc(fdtab.KindFile, unix.O_CLOEXEC|unix.O_NONBLOCK, 42)
	require.Equal(t, 0, fd)
	assert.Equal(t, fdtab.File{Kind: fdtab.KindFile, Desc: 42, Cloexec: true, Nonblock: true, Reader: sched.None}, fdtab.Files[0])
	w, _ := fdtab.LoadFlags(0)
	assert.Equal(t, int32(42), w.Desc())
	fdtab.Install(7, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41, Reader: 3})
	assert.Equal(t, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41, Reader: 3}, fdtab.Files[7])
	fdtab.Free(&fdtab.Files[0])
	assert.Equal(t, fdtab.File{}, fdtab.Files[0])
	_, ok := FcntlFlagsUnlocked(0, unix.F_GETFD, 0)
	assert.False(t, ok, "a free slot goes to the locked path (EBADF)")
}

// TestNoFastCopy: copy_file_range, splice and tee, which gometal does not
// implement, make Linux 6.18's first checks in each call's order before
// their EINVAL: splice a length of 0, the flags, the descriptors; tee the
// flags, a length of 0, the descriptors; copy_file_range the descriptors
// before its flags (its offsets' pointers, read after the descriptors,
// need the program's memory: the boot test compares them). Flags are a
// C unsigned int: the register's upper half is not looked at.
func TestNoFastCopy(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindPipe}
	fdtab.Files[4] = fdtab.File{Kind: fdtab.KindPipe}
	for _, c := range []struct {
		name string
		nr   uint64
		a    [6]uintptr
		want int64
	}{
		{"splice", unix.SYS_SPLICE, [6]uintptr{3, 0, 4, 0, 8, 0}, -abi.EINVAL},
		{"splice of 0 bytes, bad descriptors", unix.SYS_SPLICE, [6]uintptr{9, 0, 9, 0, 0, 0x100}, 0},
		{"splice, bad flags and descriptor", unix.SYS_SPLICE, [6]uintptr{9, 0, 4, 0, 8, 0x100}, -abi.EINVAL},
		{"splice, flags in the upper half", unix.SYS_SPLICE, [6]uintptr{9, 0, 4, 0, 8, 1 << 32}, -abi.EBADF},
		{"splice from a closed descriptor", unix.SYS_SPLICE, [6]uintptr{9, 0, 4, 0, 8, 0}, -abi.EBADF},
		{"splice to a closed descriptor", unix.SYS_SPLICE, [6]uintptr{3, 0, 9, 0, 8, 0}, -abi.EBADF},
		{"tee", unix.SYS_TEE, [6]uintptr{3, 4, 8, 0}, -abi.EINVAL},
		{"tee of 0 bytes, bad flags", unix.SYS_TEE, [6]uintptr{3, 4, 0, 0x100}, -abi.EINVAL},
		{"tee of 0 bytes", unix.SYS_TEE, [6]uintptr{9, 9, 0, 0}, 0},
		{"tee to a closed descriptor", unix.SYS_TEE, [6]uintptr{3, 9, 8, 0}, -abi.EBADF},
		{"copy_file_range", unix.SYS_COPY_FILE_RANGE, [6]uintptr{3, 0, 4, 0, 8, 0}, -abi.EINVAL},
		{"copy_file_range, flags", unix.SYS_COPY_FILE_RANGE, [6]uintptr{3, 0, 4, 0, 8, 1}, -abi.EINVAL},
		{"copy_file_range from a closed descriptor, flags", unix.SYS_COPY_FILE_RANGE, [6]uintptr{9, 0, 4, 0, 8, 1}, -abi.EBADF},
		{"copy_file_range to a closed descriptor", unix.SYS_COPY_FILE_RANGE, [6]uintptr{3, 0, 9, 0, 0, 0}, -abi.EBADF},
	} {
		assert.Equal(t, c.want, SysNoFastCopy(c.nr, &c.a), c.name)
	}
}

// TestSharedWriteDeclines: under the files lock held shared, a write
// larger than vfs.MaxSharedWrite, appending or not, answers NotFileCall
// before anything else, the offset and the charged pages untouched, so
// that the locked path serves it from the start.
func TestSharedWriteDeclines(t *testing.T) {
	pages := vfs.Pages
	d := &vfs.Desc{Refs: 1, Ino: 7, Off: 42, Flags: unix.O_WRONLY}
	assert.Equal(t, NotFileCall, fileWrite(d, 0x1000, vfs.MaxSharedWrite+1, -1, true))
	d.Flags |= unix.O_APPEND
	assert.Equal(t, NotFileCall, fileWrite(d, 0x1000, vfs.MaxSharedWrite+1, -1, true), "write")
	assert.Equal(t, NotFileCall, fileWrite(d, 0x1000, vfs.MaxSharedWrite+1, 0, true), "pwrite64")
	assert.Equal(t, int64(42), d.Off)
	assert.Equal(t, pages, vfs.Pages)
	assert.Equal(t, -abi.EBADF, fileIO(unix.SYS_WRITE, &vfs.Desc{Flags: unix.O_RDONLY}, 0x1000, 16, 0, true), "EBADF comes first, as on the exclusive path")
}

// TestFcntlFlagsShared: beside other CPUs' calls (the files lock held
// shared) the flag commands serve a pipe's ends as alone, but an F_SETFL
// that would change the description's flags, which dup shares and the
// writes beside read, or a socket's (its descriptors' loop runs alone):
// those answer fsys.RunAlone, having changed nothing, and run again
// alone.
func TestFcntlFlagsShared(t *testing.T) {
	saved, savedDesc := fdtab.Files, vfs.Descs[4]
	t.Cleanup(func() { fdtab.Files, vfs.Descs[4] = saved, savedDesc })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	vfs.Descs[4] = vfs.Desc{Refs: 1, Flags: unix.O_WRONLY}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindPipe, Desc: 4}
	fdtab.Files[5] = fdtab.File{Kind: fdtab.KindSocket, Socket: 7}
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindSocket, Socket: 7} // a dup of 5
	call := fcntlFlagsCall(t, true)
	assert.Equal(t, int64(unix.O_WRONLY), call(3, unix.F_GETFL, 0))
	assert.Zero(t, call(3, unix.F_SETFL, unix.O_WRONLY|unix.O_NONBLOCK), "os.Pipe's O_NONBLOCK, beside others")
	assert.True(t, fdtab.Files[3].Nonblock)
	assert.Equal(t, int64(unix.O_WRONLY|unix.O_NONBLOCK), call(3, unix.F_GETFL, 0))
	assert.Zero(t, call(3, unix.F_SETFD, unix.FD_CLOEXEC))
	assert.Equal(t, int64(unix.FD_CLOEXEC), call(3, unix.F_GETFD, 0))

	before := fdtab.Files
	assert.Equal(t, int64(fsys.RunAlone), call(3, unix.F_SETFL, unix.O_APPEND), "O_APPEND changes the description: alone")
	assert.Equal(t, before, fdtab.Files, "nothing changed beside others")
	assert.Equal(t, int32(unix.O_WRONLY), vfs.Descs[4].Flags)
	r, _ := FcntlFlags(3, unix.F_SETFL, unix.O_APPEND, false)
	assert.Zero(t, r, "alone it changes it")
	assert.Equal(t, int32(unix.O_WRONLY|unix.O_APPEND), vfs.Descs[4].Flags)
	assert.False(t, fdtab.Files[3].Nonblock, "and O_NONBLOCK, off in its argument")

	savedPath := vfs.Descs[5]
	t.Cleanup(func() { vfs.Descs[5] = savedPath })
	vfs.Descs[5] = vfs.Desc{Refs: 1, Flags: unix.O_PATH}
	fdtab.Files[8] = fdtab.File{Kind: fdtab.KindFile, Desc: 5} // opened beside since PathHide looked
	assert.Equal(t, int64(-abi.EBADF), call(8, unix.F_SETFL, unix.O_NONBLOCK), "an O_PATH descriptor: Linux's EBADF")
	assert.False(t, fdtab.Files[8].Nonblock)

	before = fdtab.Files
	assert.Equal(t, int64(fsys.RunAlone), call(5, unix.F_SETFL, unix.O_NONBLOCK), "a socket's descriptors: alone")
	assert.Equal(t, before, fdtab.Files, "nothing changed beside others")
	r, _ = FcntlFlags(5, unix.F_SETFL, unix.O_NONBLOCK, false)
	assert.Zero(t, r)
	assert.True(t, fdtab.Files[5].Nonblock && fdtab.Files[6].Nonblock, "alone: every descriptor of the socket")
}

// TestFcntlFlagsSharedConcurrent: two CPUs changing different flags of
// one pipe end's descriptor under the files lock held shared: after
// 20,000 changes each, ending with both flags set, both are set. Run
// with -race (make race): with the flags stored plainly rather than
// swapped into the descriptor's word, the detector reports it (the
// assertion alone does not catch that: the two flags are different
// bytes of the word).
func TestFcntlFlagsSharedConcurrent(t *testing.T) {
	got := raceFlagCalls(t, fdtab.KindPipe, func(_, cmd int, arg uintptr) { FcntlFlags(3, cmd, arg, true) })
	assert.Equal(t, fdtab.File{Kind: fdtab.KindPipe, Desc: 4, Cloexec: true, Nonblock: true}, got,
		"the last F_SETFD set close-on-exec, the last F_SETFL O_NONBLOCK")
}
