package vfs

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// freshFiles gives the test an empty root file system, description table
// and descriptor table, and a page source over host memory for the calls
// that make files; what was there comes back at the end.
func freshFiles(t *testing.T) *fs.Mem {
	closesAtStart[t.Name()] = ClosesBeside.Load()
	root, descs, files := Root, Descs, fdtab.Files
	t.Cleanup(func() { Root, Descs, fdtab.Files = root, descs, files; closedHead.Store(0) })
	Root, Descs, fdtab.Files = fs.FS{}, [MaxDescs]Desc{}, [fdtab.MaxFDs]fdtab.File{}
	closedHead.Store(0)
	Root.Init()
	const pages, base = 64, 0x100000
	buf := make([]byte, (pages+1)*fs.PageSize)
	t.Cleanup(func() { runtime.KeepAlive(buf) })
	start := (uintptr(unsafe.Pointer(&buf[0])) + fs.PageSize - 1) &^ (fs.PageSize - 1)
	m := &fs.Mem{Frames: &mm.Frames{DirectBase: start - base}, Budget: pages}
	require.True(t, m.Frames.AddRange(base, base+pages*fs.PageSize))
	return m
}

// closesAtStart is ClosesBeside when each test began (freshFiles).
var closesAtStart = map[string]uint64{}

// closesBefore returns ClosesBeside when the test began.
func closesBefore(t *testing.T) uint64 { return closesAtStart[t.Name()] }

// openNew creates name in the root directory and opens it on a new
// descriptor, as an open does: its description and descriptor.
func openNew(t *testing.T, m *fs.Mem, name string) (fs.Ino, int32, int) {
	ino, e := Root.Create(m, fs.RootIno, []byte(name), unix.S_IFREG|0o644, 0)
	require.Zero(t, e)
	d := AllocDesc(ino, unix.O_RDWR)
	require.GreaterOrEqual(t, d, int32(0))
	Root.Hold(ino)
	fd := fdtab.AllocDesc(fdtab.KindFile, 0, d)
	require.GreaterOrEqual(t, fd, 0)
	return ino, d, fd
}

// TestCloseShared: a close under the files lock held shared frees its
// descriptor at once (a second close of the number answers false, EBADF)
// and drops a reference; the last puts the description on the closed
// list, where no open takes it. Its end (the file's open, which frees a
// file unlinked meanwhile, and the slot) waits while another CPU holds
// the lock, and comes at the end of a shared hold alone, with the
// file's inode in the same reclaim.
func TestCloseShared(t *testing.T) {
	m := freshFiles(t)
	ino, d, fd := openNew(t, m, "f")
	Descs[d].Refs++ // dup: a second descriptor on the description
	dup := fdtab.AllocDesc(fdtab.KindFile, 0, d)

	require.True(t, CloseShared(fd, d))
	assert.Nil(t, fdtab.Get(fd), "the descriptor goes at once")
	assert.Equal(t, d, fdtab.Files[fd].Desc, "its description's index stays, for a call beside that read the kind before")
	assert.False(t, CloseShared(fd, d), "closed already: the locked path answers (EBADF)")
	assert.Equal(t, int32(1), Descs[d].Refs, "the dup still holds it")
	assert.False(t, ClosesPending())

	require.Zero(t, Root.Unlink(m, fs.RootIno, []byte("f")))
	used := Root.InodesUsed
	require.True(t, CloseShared(dup, d))
	assert.Equal(t, int32(^0), Descs[d].Refs, "closed, the list's only one")
	assert.Equal(t, d+1, closedHead.Load())
	assert.True(t, ClosesPending())
	assert.True(t, HasLeftovers())
	other := AllocDesc(ino, 0)
	assert.NotEqual(t, d, other, "a closed description is no open's until its end")
	FreeDesc(other)

	c0, c1 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}
	since0 := klock.Files.RLock(c0)
	since1 := klock.Files.RLock(c1)
	Reclaim(true)
	assert.Equal(t, int32(^0), Descs[d].Refs, "another CPU holds the lock: the close waits")
	assert.True(t, ClosesPending(), "put back")
	assert.Equal(t, used, Root.InodesUsed)
	klock.Files.Release(c1, true, since1, 0)
	Reclaim(true)
	klock.Files.Release(c0, true, since0, 0)
	assert.Zero(t, Descs[d].Refs, "ended at a shared hold alone: free")
	assert.Zero(t, Descs[d].Ino)
	assert.Equal(t, used-1, Root.InodesUsed, "the unlinked file went with its last open, in the same reclaim")
	assert.False(t, HasLeftovers())
}

// TestClosedListPutBack: descriptions closed beside another CPU's hold
// stay on the closed list, in full, through a reclaim that finds that
// hold (the list taken off and put back, with a close made in between),
// and all end at the next hold alone.
func TestClosedListPutBack(t *testing.T) {
	m := freshFiles(t)
	c0, c1 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}
	since1 := klock.Files.RLock(c1)
	since0 := klock.Files.RLock(c0)
	var ds []int32
	for _, name := range []string{"a", "b", "c"} {
		_, d, fd := openNew(t, m, name)
		require.True(t, CloseShared(fd, d))
		ds = append(ds, d)
	}
	closed := closedHead.Swap(0) // a reclaim's take, then a close beside it
	_, d, fd := openNew(t, m, "d")
	require.True(t, CloseShared(fd, d))
	ds = append(ds, d)
	pushClosed(closed) // the reclaim found c1's hold
	Reclaim(true)      // and so does this one
	for _, d := range ds {
		assert.Negative(t, Descs[d].Refs, "description %d still closed", d)
	}
	n := 0
	for i := closedHead.Load(); i != 0 && n <= len(ds); i = ^Descs[i-1].Refs {
		n++
	}
	assert.Equal(t, len(ds), n, "every closed description on the list once")
	klock.Files.Release(c1, true, since1, 0)
	Reclaim(true)
	klock.Files.Release(c0, true, since0, 0)
	for _, d := range ds {
		assert.Zero(t, Descs[d].Refs, "description %d ended", d)
	}
	assert.False(t, ClosesPending())
	used := Root.InodesUsed
	for _, name := range []string{"a", "b", "c", "d"} { // with its open ended, an unlink alone frees each file
		require.Zero(t, Root.Unlink(m, fs.RootIno, []byte(name)))
	}
	assert.Equal(t, used-4, Root.InodesUsed)
}

// TestCloseSharedBeside: CPUs open and close files beside each other
// under the files lock held shared, two of them closing each descriptor
// (one wins), and reclaim at the end of each hold, while another CPU
// takes the lock exclusively now and then and reclaims there: every
// close is counted once; a description closed last stays whole (its
// file, its mark) for the rest of the hold that closed it, whatever the
// other CPUs' reclaims do meanwhile, as a call beside that found it may
// still use it; and after an exclusive hold's reclaim every description
// and descriptor is free and no file is held open. Run with -race.
func TestCloseSharedBeside(t *testing.T) {
	m := freshFiles(t)
	const cpus, rounds = 4, 300
	var inos [cpus]fs.Ino
	for i := range inos {
		var e fs.Errno
		inos[i], e = Root.Create(m, fs.RootIno, []byte{'a' + byte(i)}, unix.S_IFREG|0o644, 0)
		require.Zero(t, e)
	}
	var wg sync.WaitGroup
	wins := make([]int, cpus)
	for cpu := range cpus {
		wg.Go(func() {
			c := &percpu.CPU{ID: cpu}
			for range rounds {
				since := klock.Files.RLock(c)
				d := AllocDesc(inos[cpu], 0)
				for d < 0 { // every description closed, waiting for a hold alone: an open in the kernel runs alone (fsys.RunAlone), which ends them
					klock.Files.Release(c, true, since, 0)
					runtime.Gosched()
					since = klock.Files.RLock(c)
					d = AllocDesc(inos[cpu], 0)
				}
				Root.Hold(inos[cpu])
				fd := fdtab.AllocDesc(fdtab.KindFile, 0, d)
				var won atomic.Int32
				var both sync.WaitGroup
				for range 2 { // two closes of one number, as two threads of a program
					both.Go(func() {
						if CloseShared(fd, d) {
							won.Add(1)
						}
					})
				}
				both.Wait()
				wins[cpu] += int(won.Load())
				for range 2 { // the other CPUs' reclaims run meanwhile
					if refs, ino := atomic.LoadInt32(&Descs[d].Refs), Descs[d].Ino; refs >= 0 || ino != inos[cpu] {
						t.Errorf("description %d after its last close, in the hold: references %d, file %d", d, refs, ino)
					}
					runtime.Gosched()
				}
				Reclaim(true)
				klock.Files.Release(c, true, since, 0)
			}
		})
	}
	var closing atomic.Bool
	closing.Store(true)
	var reclaimer sync.WaitGroup
	reclaimer.Go(func() {
		c := &percpu.CPU{ID: cpus}
		for closing.Load() {
			klock.Files.Lock(c)
			Reclaim(false)
			klock.Files.Unlock(c)
			runtime.Gosched()
		}
	})
	wg.Wait()
	closing.Store(false)
	reclaimer.Wait()
	for cpu := range cpus {
		assert.Equal(t, rounds, wins[cpu], "cpu %d: one close of each descriptor won", cpu)
	}
	assert.Equal(t, uint64(cpus*rounds), ClosesBeside.Load()-closesBefore(t))
	Reclaim(false)
	assert.False(t, ClosesPending())
	for i := range Descs {
		require.Zero(t, Descs[i].Refs, "description %d", i)
	}
	for fd := range fdtab.Files {
		require.Nil(t, fdtab.Get(fd))
	}
	for i := range inos { // with no open left, an unlink frees each file
		require.Zero(t, Root.Unlink(m, fs.RootIno, []byte{'a' + byte(i)}))
	}
	assert.Equal(t, int64(1), Root.InodesUsed, "the root directory alone")
}

// TestReclaimOrder: a file unlinked beside others with no open waits on
// the orphan list, and an open that found it by its name just before
// holds it; that open's description, closed beside others, waits too.
// One reclaim frees the file once: the orphan list first (which leaves
// the file, still open, and takes it off the list), then the
// description's end (which frees it: at an exclusive hold at once, at a
// shared hold alone through the orphan list again, in the same reclaim).
// The other order would free it twice; a file left marked as on the list
// would never go.
func TestReclaimOrder(t *testing.T) {
	for _, shared := range []bool{false, true} {
		m := freshFiles(t)
		ino, e := Root.Create(m, fs.RootIno, []byte("f"), unix.S_IFREG|0o644, 0)
		require.Zero(t, e)
		used := Root.InodesUsed
		beside := *m
		beside.Now = 1 // a call beside others (fs.Mem.Shared)
		require.Zero(t, Root.Unlink(&beside, fs.RootIno, []byte("f")))
		require.True(t, Root.HasOrphans(), "unlinked beside others with no open: an orphan")
		d := AllocDesc(ino, unix.O_RDONLY) // the open that found it before its name went
		Root.Hold(ino)
		fd := fdtab.AllocDesc(fdtab.KindFile, 0, d)
		require.True(t, CloseShared(fd, d))
		require.True(t, ClosesPending())

		c := &percpu.CPU{ID: 0}
		if shared {
			since := klock.Files.RLock(c)
			Reclaim(true)
			klock.Files.Release(c, true, since, 0)
		} else {
			klock.Files.Lock(c)
			Reclaim(false)
			klock.Files.Unlock(c)
		}
		assert.Equal(t, used-1, Root.InodesUsed, "shared %v: freed once", shared)
		assert.False(t, HasLeftovers(), "shared %v", shared)
		assert.Zero(t, Descs[d].Refs)
		assert.Zero(t, Descs[d].Ino)
	}
}
