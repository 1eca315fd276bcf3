package vfs

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// freshPipes gives the test an empty pipe table and descriptor table,
// and no commit limit (the boot's charging, which charges nothing); what
// was there comes back at the end. The kernel's frames are over host
// memory (pipeFrames).
func freshPipes(t *testing.T) {
	pipeFrames(t)
	pipes, descs, files, limit := Pipes, Descs, fdtab.Files, vm.CommitLimit
	t.Cleanup(func() { Pipes, Descs, fdtab.Files, vm.CommitLimit = pipes, descs, files, limit })
	Pipes, Descs, fdtab.Files, vm.CommitLimit = fs.Pipes{}, [MaxDescs]Desc{}, [fdtab.MaxFDs]fdtab.File{}, 0
	resetRecords := func() {
		fdtab.NotifyFDs.Clear()
		fdtab.NotifyPending.Store(false)
	}
	resetRecords()
	t.Cleanup(resetRecords)
}

// newPipe makes a pipe for the test, whose pages go back to the frames
// at its end (both ends closed).
func newPipe(t *testing.T) int {
	p, e := Pipes.New()
	require.Zero(t, e)
	t.Cleanup(func() {
		m := ReadMem()
		Pipes.Close(&m, p, true)
		Pipes.Close(&m, p, false)
	})
	return p
}

// pipeRAM is the host memory under the kernel's frames in this package's
// tests, once the first pipe test set them up (pipeFrames); kept for the
// rest of the run, as the frames stay.
var pipeRAM []byte

// pipeFrames makes the kernel's frames (vm.Frames, where ReadMem takes
// pages) 64 pages of host memory, the first time it is called. They stay
// for the package's other tests: the frames hold a lock, which go vet
// does not let a test copy to put them back.
func pipeFrames(t *testing.T) {
	if pipeRAM != nil {
		return
	}
	const pages, base = 64, 0x100000
	pipeRAM = make([]byte, (pages+1)*fs.PageSize)
	start := (uintptr(unsafe.Pointer(&pipeRAM[0])) + fs.PageSize - 1) &^ (fs.PageSize - 1)
	vm.Frames = mm.Frames{DirectBase: start - base}
	require.True(t, vm.Frames.AddRange(base, base+pages*fs.PageSize))
}

// TestPipeWriteNowShared: a write beside other calls (the files lock
// held shared) that would take a page charges its pages first and takes
// it, leaving the charge at what it took; beside others again it writes
// into the pages the pipe has, charging nothing, and records the change
// for both ends' descriptors (their sequence and fdtab.Notify); one
// whose charge does not fit answers RunAlone, having changed nothing.
func TestPipeWriteNowShared(t *testing.T) {
	freshPipes(t)
	p := newPipe(t)
	oldPages, oldMax := Pages, MaxPages
	committed := vm.Committed()
	t.Cleanup(func() {
		Pages, MaxPages = oldPages, oldMax
		vm.Uncommit(vm.Committed() - committed)
	})
	vm.CommitLimit = committed + 100*fs.PageSize
	MaxPages, Pages = 50, 0
	Descs[1] = Desc{Refs: 1, Pipe: int32(p), Reader: true}
	Descs[2] = Desc{Refs: 1, Pipe: int32(p)}
	rfd := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, 1)
	wfd := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, 2)

	assert.Equal(t, int64(5), PipeWriteNow(p, true, []byte("hello"), true), "the first write takes a page, beside others")
	assert.Equal(t, int64(1), Pages, "the charge is the page it took")
	assert.Equal(t, committed+fs.PageSize, vm.Committed())
	assert.Equal(t, int64(2), PipeWriteNow(p, true, []byte("!!"), true), "into the page the pipe has")
	assert.Equal(t, int64(1), Pages)
	assert.Equal(t, 7, Pipes.Buffered(p))
	assert.Equal(t, uint64(2), fdtab.Files[rfd].Seq, "each write bumps both ends' sequence")
	assert.Equal(t, uint64(2), fdtab.Files[wfd].Seq)
	assert.True(t, fdtab.NotifyPending.Load())
	assert.True(t, fdtab.NotifyFDs.Has(rfd))
	assert.True(t, fdtab.NotifyFDs.Has(wfd))
	MaxPages = 1
	assert.Equal(t, RunAlone, PipeWriteNow(p, true, make([]byte, fs.PageSize), true), "no room to charge the second page")
	assert.Equal(t, 7, Pipes.Buffered(p), "and nothing written")
	assert.Equal(t, int64(1), Pages)
	assert.Equal(t, committed+fs.PageSize, vm.Committed())
}

// TestPipeWriteNowBeside: writers and a reader on one pipe, each on its
// own goroutine as calls under the files lock held shared on other CPUs,
// and a writer on another pipe: every record comes through whole and in
// its writer's order, and every change is recorded. Run with -race.
func TestPipeWriteNowBeside(t *testing.T) {
	freshPipes(t)
	p, q := newPipe(t), newPipe(t)
	Descs[1] = Desc{Refs: 1, Pipe: int32(p), Reader: true}
	Descs[2] = Desc{Refs: 1, Pipe: int32(q)}
	pfd := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, 1)
	qfd := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, 2)
	for _, i := range []int{p, q} { // alone: every page taken
		require.Equal(t, int64(fs.PipeSize), PipeWriteNow(i, true, make([]byte, fs.PipeSize), false))
		m := ReadMem()
		_, e := Pipes.Read(&m, i, make([]byte, fs.PipeSize))
		require.Zero(t, e)
	}

	const writers, each = 3, 400
	var wg sync.WaitGroup
	var failed atomic.Bool // a writer gave up: the reader must not wait for its records
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := make([]byte, 100)
			for k := 0; k < each; {
				binary.LittleEndian.PutUint32(rec, uint32(w))
				binary.LittleEndian.PutUint32(rec[4:], uint32(k))
				switch r := PipeWriteNow(p, true, rec, true); r {
				case int64(len(rec)):
					k++
				case -int64(unix.EAGAIN):
					runtime.Gosched()
				default:
					t.Errorf("writer %d: %d", w, r)
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // another pipe's writes, beside
		defer wg.Done()
		for range each {
			if r := PipeWriteNow(q, true, []byte("x"), true); r != 1 {
				t.Errorf("pipe q: %d", r)
				failed.Store(true)
				return
			}
			m := ReadMem()
			Pipes.Lock(q)
			_, e := Pipes.Read(&m, q, make([]byte, 1))
			Pipes.Unlock(q)
			if e != 0 {
				t.Errorf("pipe q's read: %v", e)
				failed.Store(true)
				return
			}
		}
	}()
	next := make([]uint32, writers)
	rec := make([]byte, 100)
	for got := 0; got < writers*each && !failed.Load(); {
		m := ReadMem()
		Pipes.Lock(p)
		n, e := Pipes.Read(&m, p, rec)
		Pipes.Unlock(p)
		if e == unix.EAGAIN {
			runtime.Gosched()
			continue
		}
		require.Zero(t, e)
		require.Equal(t, len(rec), n, "a record of PipeBuf bytes or fewer comes whole")
		w, k := binary.LittleEndian.Uint32(rec), binary.LittleEndian.Uint32(rec[4:])
		require.Less(t, w, uint32(writers))
		require.Equal(t, next[w], k, "writer %d's records in order", w)
		next[w]++
		got++
	}
	wg.Wait()
	assert.Equal(t, uint64(1+writers*each), fdtab.Files[pfd].Seq, "every write to p bumped its reader's sequence")
	assert.Equal(t, uint64(1+each), fdtab.Files[qfd].Seq)
	assert.True(t, fdtab.NotifyFDs.Has(qfd))
}

// TestClosePipeEndShared: the close of a pipe end's last descriptor
// beside other calls ends that end at once (the reader reads what was
// written, then the end of file, and the change is recorded for the
// other end's watchers); once no end is left, the pipe goes with the
// last end's description at the next hold alone, its page back to the
// frames, and until then no pipe2 takes it.
func TestClosePipeEndShared(t *testing.T) {
	freshFiles(t)
	freshPipes(t)
	p, e := Pipes.New()
	require.Zero(t, e)
	r, w := AllocDesc(0, unix.O_RDONLY), AllocDesc(0, unix.O_WRONLY)
	Descs[r].Pipe, Descs[r].Reader = int32(p), true
	Descs[w].Pipe = int32(p)
	rfd := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, r)
	wfd := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, w)
	free := vm.Frames.FreeCount()
	require.Equal(t, int64(3), PipeWriteNow(p, true, []byte("abc"), true))
	require.Equal(t, free-1, vm.Frames.FreeCount(), "the write took a page")
	fdtab.NotifyFDs.Clear()

	require.True(t, FreeShared(wfd, w, fdtab.KindPipe))
	assert.False(t, FreeShared(wfd, w, fdtab.KindPipe), "closed already: the locked path answers (EBADF)")
	assert.False(t, FreeShared(rfd, r, fdtab.KindFile), "a descriptor of another kind")
	DropShared(w, fdtab.KindPipe)
	readers, writers := Pipes.Ends(p)
	assert.Equal(t, [2]int32{1, 0}, [2]int32{readers, writers}, "the write end ended at the close")
	assert.True(t, fdtab.NotifyFDs.Has(rfd), "the read end's watchers are told (EPOLLHUP)")
	assert.False(t, Descs[w].FreesPipe, "a reader is left")
	m := ReadMem()
	buf := make([]byte, 8)
	n, e := Pipes.Read(&m, p, buf)
	assert.Equal(t, "abc", string(buf[:n]), "what was written before the close")
	assert.Zero(t, e)
	n, e = Pipes.Read(&m, p, buf)
	assert.Zero(t, n, "then the end of file")
	assert.Zero(t, e)

	require.True(t, FreeShared(rfd, r, fdtab.KindPipe))
	DropShared(r, fdtab.KindPipe)
	assert.True(t, Descs[r].FreesPipe, "the last end's description frees the pipe")
	q, _ := Pipes.New()
	assert.NotEqual(t, p, q, "no pipe2 takes it before the hold alone")
	Pipes.Free(&m, q)
	assert.Equal(t, free-1, vm.Frames.FreeCount(), "its page stays until then")
	Reclaim(false)
	assert.Equal(t, free, vm.Frames.FreeCount(), "its page back")
	assert.Zero(t, Descs[r].Refs, "both descriptions free")
	assert.Zero(t, Descs[w].Refs)
	assert.False(t, Descs[r].FreesPipe)
	q, _ = Pipes.New()
	assert.Equal(t, p, q, "the pipe is free")
}
