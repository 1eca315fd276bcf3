package fs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritePagesBound: a write given exactly WritePages of budget
// completes, whatever the file held before (nothing, one page, a tree
// that must grow by one level or by several), where it crosses an index
// page's boundary at each level and where it does not; the pages it
// took never exceed the bound. A bound too small would make a write
// beside others (kernel/vfs's ReserveMem) come back short where the
// exclusive path would have written it all.
func TestWritePagesBound(t *testing.T) {
	const pg = PageSize
	level := []int64{1, 512, 512 * 512, 512 * 512 * 512} // data pages under one index page, per level
	var offs []int64
	for _, l := range level {
		offs = append(offs, l*pg-10, l*pg, 3*l*pg-pg/2)
	}
	before := map[string]func(e *env, f Ino){
		"empty":        func(*env, Ino) {},
		"one page":     func(e *env, f Ino) { e.write(f, 0, 100) },
		"two levels":   func(e *env, f Ino) { e.write(f, 600*pg, 10) },
		"sparse tail":  func(e *env, f Ino) { e.write(f, 2*512*512*pg+5, 10) },
		"first and 5M": func(e *env, f Ino) { e.write(f, 0, 10); e.write(f, 5<<20, 10) },
	}
	for name, prep := range before {
		for _, off := range offs {
			for _, n := range []int{1, 20, 3 * pg, 513 * pg} {
				if off+int64(n) > MaxFileSize {
					continue
				}
				t.Run(fmt.Sprintf("%s/%d+%d", name, off, n), func(t *testing.T) {
					fsys := new(FS)
					fsys.Init()
					e := &env{t: t, fs: fsys, m: reusedRAM(t, 1200)}
					f := e.create("/f", "")
					prep(e, f)
					bound := WritePages(off, n)
					e.m.Budget = e.m.Taken + bound
					taken := e.m.Taken
					got, err := e.fs.Write(e.m, f, off, pattern(n, 3))
					require.Equal(t, ok, err)
					assert.Equal(t, n, got, "the whole write fits its bound")
					assert.LessOrEqual(t, e.m.Taken-taken, bound)
					// An appending write beside others is charged
					// before it reads the size it writes at: the bound
					// at the last byte of a page is the most for n
					// bytes at any offset.
					assert.LessOrEqual(t, bound, WritePages(PageSize-1, n))
				})
			}
		}
	}
}

// TestWritePagesEdges: no pages for a write at or past MaxFileSize
// (EFBIG), however large the offset (no overflow into a negative
// charge), and only what lies below MaxFileSize for one that reaches
// past it.
func TestWritePagesEdges(t *testing.T) {
	assert.Zero(t, WritePages(MaxFileSize, 4096))
	assert.Zero(t, WritePages(1<<63-1, 4096))
	assert.Zero(t, WritePages(-1, 4096))
	assert.Equal(t, int64(1+12), WritePages(MaxFileSize-10, 1<<30), "one data page below the limit")
	assert.Equal(t, int64(1+12), WritePages(0, 1))
	assert.Equal(t, int64(2+12), WritePages(PageSize-1, 2))
	assert.Equal(t, int64(1024+2+12), WritePages(0, 1024*PageSize))
}

// write writes n pattern bytes into f at off, requiring all of them.
func (e *env) write(f Ino, off int64, n int) {
	got, err := e.fs.Write(e.m, f, off, pattern(n, 1))
	require.Equal(e.t, ok, err)
	require.Equal(e.t, n, got)
}

// TestDataLockWrites runs writes beside each other, as the kernel does
// under the files lock held shared, each holding its file's data lock
// (LockData) as kernel/fdcalls' writes do: four goroutines each fill a file of
// their own, two fill halves of one shared file, and two read that file
// meanwhile (Stat, Size, Read), each with its own Mem over one frame
// allocator. Every file ends with exactly the bytes written to it, the
// file system's page count is the sum of the files', and no reader saw
// a torn state: a size whose pages were not there yet (in a file written
// in order), a size that went back, or a byte that is neither zero (not yet written) nor the one
// written there. Run with -race, the data lock is what keeps it clean.
func TestDataLockWrites(t *testing.T) {
	e := newEnv(t, 2000)
	const own, chunk, rounds = 4, 1000, 60 // each writer: 60 chunks of 1000 bytes
	files := make([]Ino, own)
	for i := range files {
		files[i] = e.create(fmt.Sprintf("/f%d", i), "")
	}
	shared := e.create("/shared", "")
	dirPages := e.fs.PagesHeld // the root directory's records
	want := pattern(2*chunk*rounds, 9)
	mem := func() *Mem { return &Mem{Frames: e.m.Frames, Budget: 1 << 20, Now: 1} }
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			m := mem()
			for r := range rounds {
				e.fs.LockData(f)
				n, err := e.fs.Write(m, f, int64(r*chunk), pattern(chunk, byte(i))[:chunk])
				e.fs.UnlockData(f)
				assert.Equal(t, ok, err)
				assert.Equal(t, chunk, n)
			}
		})
	}
	for half := range 2 {
		wg.Go(func() {
			m := mem()
			base := half * chunk * rounds
			for r := range rounds {
				at := base + r*chunk
				e.fs.LockData(shared)
				n, err := e.fs.Write(m, shared, int64(at), want[at:at+chunk])
				e.fs.UnlockData(shared)
				assert.Equal(t, ok, err)
				assert.Equal(t, chunk, n)
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			m := mem()
			buf := make([]byte, len(want))
			last := int64(0)
			for {
				select {
				case <-done:
					return
				default:
				}
				st, err := e.fs.Stat(files[0]) // written in order: no holes
				if !assert.Equal(t, ok, err) {
					return
				}
				assert.GreaterOrEqual(t, st.Blocks*512, (st.Size+PageSize-1)/PageSize*PageSize, "a size beyond its pages")
				if st, err = e.fs.Stat(shared); !assert.Equal(t, ok, err) {
					return
				}
				assert.GreaterOrEqual(t, st.Size, last, "the size went back")
				last = st.Size
				size := e.fs.Size(shared)
				n, err := e.fs.Read(m, shared, 0, buf[:size])
				if !assert.Equal(t, ok, err) {
					return
				}
				for i, b := range buf[:n] {
					if b != 0 && b != want[i] {
						t.Errorf("byte %d read as %d: neither unwritten nor %d", i, b, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()

	got := make([]byte, len(want))
	for i, f := range files {
		n, err := e.fs.Read(e.m, f, 0, got[:rounds*chunk])
		require.Equal(t, ok, err)
		require.Equal(t, rounds*chunk, n)
		for r := range rounds {
			require.Equal(t, pattern(chunk, byte(i)), got[r*chunk:(r+1)*chunk], "file %d, chunk %d", i, r)
		}
	}
	n, err := e.fs.Read(e.m, shared, 0, got)
	require.Equal(t, ok, err)
	require.Equal(t, len(want), n)
	assert.Equal(t, want, got, "the shared file holds both halves")
	pages := dirPages
	for _, f := range append(files, shared) {
		pages += e.stat(f).Blocks / (PageSize / 512)
	}
	assert.Equal(t, pages, e.fs.PagesHeld, "the page count is the files' sum")
}

// TestDataLockAppends: appends beside each other, as kernel/fdcalls'
// fileWrite makes them for descriptions opened O_APPEND: each takes the
// file's data lock, reads the size under it (SizeHeld) and writes
// there. Four goroutines append 400 chunks of 40 bytes each, every chunk
// its goroutine's and round's number over and over; the file ends with
// every chunk exactly once and whole, and each append found its chunk
// where the size it read said. Run with -race.
func TestDataLockAppends(t *testing.T) {
	e := newEnv(t, 2000)
	const appenders, chunk, rounds = 4, 40, 400
	f := e.create("/appended", "")
	tagged := func(id int) []byte {
		b := make([]byte, chunk)
		for i := 0; i < chunk; i += 2 {
			binary.LittleEndian.PutUint16(b[i:], uint16(id))
		}
		return b
	}
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			m := &Mem{Frames: e.m.Frames, Budget: 1 << 20, Now: 1}
			got := make([]byte, chunk)
			for r := range rounds {
				b := tagged(a*rounds + r)
				e.fs.LockData(f)
				at := e.fs.SizeHeld(f)
				n, err := e.fs.Write(m, f, at, b)
				e.fs.UnlockData(f)
				assert.Equal(t, ok, err)
				assert.Equal(t, chunk, n)
				k, _ := e.fs.Read(m, f, at, got)
				if k != chunk || !bytes.Equal(b, got) {
					t.Errorf("appender %d's chunk %d is not where the size said", a, r)
					return
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, int64(appenders*rounds*chunk), e.fs.Size(f))
	all := make([]byte, appenders*rounds*chunk)
	k, err := e.fs.Read(e.m, f, 0, all)
	require.Equal(t, ok, err)
	require.Equal(t, len(all), k)
	seen := map[int]int{}
	for at := 0; at < len(all); at += chunk {
		id := int(binary.LittleEndian.Uint16(all[at:]))
		require.Equal(t, tagged(id), all[at:at+chunk], "a torn chunk at %d", at)
		seen[id]++
	}
	assert.Len(t, seen, appenders*rounds, "every chunk once")
}

// TestHoldBeside: opens of one file beside each other (the files lock
// held shared) each count themselves (FS.Hold adds atomically), so the
// file's open count is exact when the last of them is closed.
func TestHoldBeside(t *testing.T) {
	e := newEnv(t, 16)
	f := e.create("/f", "x")
	const openers, each = 8, 1000
	var wg sync.WaitGroup
	for range openers {
		wg.Go(func() {
			for range each {
				e.fs.Hold(f)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(openers*each), e.fs.inodes[f].opens)
}

// TestDataLockShared: the data lock's shared holders come in beside each
// other; a change waits until they leave, and keeps new ones out while
// it waits and while it holds the lock (so a stream of lookups cannot
// starve it).
func TestDataLockShared(t *testing.T) {
	var ip inode
	rlockData(&ip)
	rlockData(&ip) // a second looker beside the first
	require.Equal(t, uint32(2), atomic.LoadUint32(&ip.dataHeld))
	var changed, looked atomic.Bool
	go func() {
		lockData(&ip)
		changed.Store(true)
	}()
	require.Eventually(t, func() bool { return atomic.LoadUint32(&ip.dataHeld)&dataWriter != 0 }, time.Second, time.Millisecond, "the change claims the writer bit")
	go func() {
		rlockData(&ip)
		looked.Store(true)
	}()
	assert.Never(t, func() bool { return changed.Load() || looked.Load() }, 50*time.Millisecond, time.Millisecond,
		"the change waits for the lookers; a new looker waits behind it")
	runlockData(&ip)
	runlockData(&ip)
	require.Eventually(t, changed.Load, time.Second, time.Millisecond, "the change goes once the lookers have left")
	assert.Never(t, looked.Load, 50*time.Millisecond, time.Millisecond, "no looker beside the change")
	unlockData(&ip)
	require.Eventually(t, looked.Load, time.Second, time.Millisecond)
	runlockData(&ip)
	assert.Zero(t, atomic.LoadUint32(&ip.dataHeld))
}
