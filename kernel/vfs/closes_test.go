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
	"github.com/gometal/gometal/kernel/spin"
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
	t.Cleanup(func() { Root, Descs, fdtab.Files = root, descs, files; closedCount.Store(0) })
	Root, Descs, fdtab.Files = fs.FS{}, [MaxDescs]Desc{}, [fdtab.MaxFDs]fdtab.File{}
	closedCount.Store(0)
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

// TestCloseShared: a close beside other calls frees its descriptor at
// once (a second close of the number answers false, EBADF) and drops a
// reference; the last marks the description closed, which no open
// takes, and its end (the file's open, which frees a file unlinked
// meanwhile, and the slot) waits for a hold of the files lock held
// exclusively: a shared hold's reclaim, even alone, leaves it (its
// file's opens and unlinks may run beside), and frees orphans only.
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
	assert.Equal(t, int32(closedRefs), Descs[d].Refs)
	assert.True(t, ClosesPending())
	assert.True(t, HasLeftovers())
	other := AllocDesc(ino, 0)
	assert.NotEqual(t, d, other, "a closed description is no open's until its end")
	FreeDesc(other)

	c0, c1 := &percpu.CPU{ID: 0}, &percpu.CPU{ID: 1}
	since0 := klock.Files.RLock(c0)
	assert.True(t, spin.FilesLock.Busy())
	Reclaim(true)
	assert.Equal(t, int32(closedRefs), Descs[d].Refs, "a shared hold leaves the closes, alone too")
	assert.Equal(t, used, Root.InodesUsed)
	klock.Files.Release(c0, true, since0, 0)
	assert.False(t, spin.FilesLock.Busy())

	klock.Files.Lock(c1)
	Reclaim(false)
	klock.Files.Unlock(c1)
	assert.Equal(t, Desc{}, Descs[d], "ended at an exclusive hold")
	assert.Equal(t, used-1, Root.InodesUsed, "the unlinked file went with its last open")
	assert.False(t, HasLeftovers())
	assert.Zero(t, closedCount.Load())
}

// TestCloseSharedBeside: CPUs open and close files beside each other
// under the files lock held shared, two of them closing each descriptor
// (one wins), and reclaim at the end of each hold, while another CPU
// takes the lock exclusively now and then and reclaims there: every
// close is counted once; a description closed last stays whole (its
// file, its mark) for the rest of the hold, as a call beside that found
// it may still use it; no open takes a description that waits for its
// end; and after an exclusive hold's reclaim every description and
// descriptor is free and no file is held open. Run with -race.
func TestCloseSharedBeside(t *testing.T) {
	m := freshFiles(t)
	const cpus, rounds = 4, 300
	var inos [cpus]fs.Ino
	for i := range inos {
		var e fs.Errno
		inos[i], e = Root.Create(m, fs.RootIno, []byte{'a' + byte(i)}, unix.S_IFREG|0o644, 0)
		require.Zero(t, e)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		waiting = map[int32]bool{} // descriptions closed last, until an exclusive reclaim
		reused  atomic.Int32
	)
	wins := make([]int, cpus)
	for cpu := range cpus {
		wg.Go(func() {
			c := &percpu.CPU{ID: cpu}
			for range rounds {
				since := klock.Files.RLock(c)
				d := AllocDesc(inos[cpu], 0)
				for d < 0 { // every description closed, waiting for the reclaimer's exclusive hold: an open in the kernel runs alone (fsys.RunAlone), which ends them
					klock.Files.Release(c, true, since, 0)
					runtime.Gosched()
					since = klock.Files.RLock(c)
					d = AllocDesc(inos[cpu], 0)
				}
				mu.Lock()
				if waiting[d] {
					reused.Add(1)
				}
				mu.Unlock()
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
				if refs, ino := atomic.LoadInt32(&Descs[d].Refs), Descs[d].Ino; refs != closedRefs || ino != inos[cpu] {
					t.Errorf("description %d after its last close, in the hold: references %d, file %d", d, refs, ino)
				}
				mu.Lock()
				waiting[d] = true
				mu.Unlock()
				Reclaim(true)
				klock.Files.Release(c, true, since, 0)
			}
		})
	}
	// Exclusive reclaims until the closes are done: the descriptions
	// closed last wait for one, and the 1,200 closes outnumber the
	// table's 1,024 descriptions (a fixed number of reclaims could all
	// come first and leave the table full).
	var closing atomic.Bool
	closing.Store(true)
	var reclaimer sync.WaitGroup
	reclaimer.Go(func() {
		c := &percpu.CPU{ID: cpus}
		for closing.Load() {
			klock.Files.Lock(c)
			Reclaim(false)
			mu.Lock()
			clear(waiting)
			mu.Unlock()
			klock.Files.Unlock(c)
			runtime.Gosched()
		}
	})
	wg.Wait()
	closing.Store(false)
	reclaimer.Wait()
	assert.Zero(t, reused.Load(), "opens took descriptions that waited for their end")
	for cpu := range cpus {
		assert.Equal(t, rounds, wins[cpu], "cpu %d: one close of each descriptor won", cpu)
	}
	assert.Equal(t, uint64(cpus*rounds), ClosesBeside.Load()-closesBefore(t))
	Reclaim(false)
	assert.Zero(t, closedCount.Load())
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
// One exclusive reclaim frees the file once: the orphan list first
// (which leaves the file, still open), then the description's end
// (which frees it). The other order would free it twice.
func TestReclaimOrder(t *testing.T) {
	m := freshFiles(t)
	ino, e := Root.Create(m, fs.RootIno, []byte("f"), unix.S_IFREG|0o644, 0)
	require.Zero(t, e)
	used := Root.InodesUsed
	shared := *m
	shared.Now = 1 // a call beside others (fs.Mem.Shared)
	require.Zero(t, Root.Unlink(&shared, fs.RootIno, []byte("f")))
	require.True(t, Root.HasOrphans(), "unlinked beside others with no open: an orphan")
	d := AllocDesc(ino, unix.O_RDONLY) // the open that found it before its name went
	Root.Hold(ino)
	fd := fdtab.AllocDesc(fdtab.KindFile, 0, d)
	require.True(t, CloseShared(fd, d))
	require.True(t, ClosesPending())

	Reclaim(false)
	assert.Equal(t, used-1, Root.InodesUsed, "freed once")
	assert.False(t, HasLeftovers())
	assert.Equal(t, Desc{}, Descs[d])
}
