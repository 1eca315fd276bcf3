package fs

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	ownerA int32 = 10
	ownerB int32 = 11
)

func TestLockConflicts(t *testing.T) {
	tests := []struct {
		name       string
		held       int // A's lock on [0, 100)
		heldFlock  bool
		owner      int32
		typ        int
		flock      bool
		start, end int64
		err        Errno
	}{
		{"shared with shared", ReadLock, false, ownerB, ReadLock, false, 0, 100, ok},
		{"exclusive over shared", ReadLock, false, ownerB, WriteLock, false, 50, 60, EAGAIN},
		{"shared over exclusive", WriteLock, false, ownerB, ReadLock, false, 99, 200, EAGAIN},
		{"exclusive over exclusive", WriteLock, false, ownerB, WriteLock, false, 0, 1, EAGAIN},
		{"adjacent ranges", WriteLock, false, ownerB, WriteLock, false, 100, 200, ok},
		{"same owner upgrade", ReadLock, false, ownerA, WriteLock, false, 0, 100, ok},
		{"same owner downgrade", WriteLock, false, ownerA, ReadLock, false, 10, 20, ok},
		{"process owner vs OFD", WriteLock, false, ProcessOwner, ReadLock, false, 0, 10, EAGAIN},
		{"flock over flock", WriteLock, true, ownerB, ReadLock, true, 0, ToEnd, EAGAIN},
		{"shared flocks", ReadLock, true, ownerB, ReadLock, true, 0, ToEnd, ok},
		{"flock ignores fcntl", WriteLock, false, ownerB, WriteLock, true, 0, ToEnd, ok},
		{"fcntl ignores flock", WriteLock, true, ownerB, WriteLock, false, 0, 100, ok},
		{"unlock of another owner's lock does nothing", WriteLock, false, ownerB, Unlock, false, 0, 100, ok},
		{"empty range", WriteLock, false, ownerB, ReadLock, false, 5, 5, EINVAL},
		{"negative start", WriteLock, false, ownerB, ReadLock, false, -1, 5, EINVAL},
		{"bad type", WriteLock, false, ownerB, 7, false, 0, 5, EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := new(FS)
			fs.Init()
			end := int64(100)
			if tc.heldFlock {
				end = ToEnd
			}
			require.Equal(t, ok, fs.SetLock(5, ownerA, tc.heldFlock, tc.held, 0, end))
			if tc.typ != Unlock && (tc.err == ok || tc.err == EAGAIN) { // the caller checks F_GETLK's arguments
				c, busy := fs.TestLock(5, tc.owner, tc.flock, tc.typ, tc.start, tc.end)
				assert.Equal(t, tc.err == EAGAIN, busy, "TestLock")
				if busy {
					assert.Equal(t, Conflict{Write: tc.held == WriteLock, Owner: ownerA, Start: 0, End: end}, c)
				}
			}
			assert.Equal(t, tc.err, fs.SetLock(5, tc.owner, tc.flock, tc.typ, tc.start, tc.end))
			if tc.typ == Unlock {
				assert.Equal(t, EAGAIN, fs.SetLock(5, tc.owner, false, WriteLock, 0, 1), "A's lock stays")
			}
			// another file is never affected
			assert.Equal(t, ok, fs.SetLock(6, tc.owner, tc.flock, WriteLock, 0, ToEnd))
		})
	}
}

func TestLockSameOwnerReplaces(t *testing.T) {
	fs := new(FS)
	fs.Init()
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 0, 100))
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, ReadLock, 0, 100)) // downgrade
	assert.Equal(t, ok, fs.SetLock(1, ownerB, false, ReadLock, 0, 100), "a downgraded lock admits readers")
	assert.Equal(t, EAGAIN, fs.SetLock(1, ownerA, false, WriteLock, 0, 100), "no upgrade while B reads")
	_, busy := fs.TestLock(1, ownerA, false, ReadLock, 0, ToEnd)
	assert.False(t, busy, "a reader is not blocked by readers")
}

func TestLockSplitOnUnlock(t *testing.T) {
	fs := new(FS)
	fs.Init()
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 0, 100))
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, Unlock, 40, 60))
	for _, tc := range []struct {
		start, end int64
		busy       bool
	}{
		{0, 40, true}, {39, 40, true}, {40, 60, false}, {45, 50, false}, {59, 61, true}, {60, 100, true}, {100, 200, false},
	} {
		c, busy := fs.TestLock(1, ownerB, false, ReadLock, tc.start, tc.end)
		assert.Equal(t, tc.busy, busy, "[%d, %d)", tc.start, tc.end)
		if busy {
			assert.True(t, c.End == 40 || c.Start == 60, "a piece: %+v", c)
		}
	}
	// a read lock in the middle of a write lock splits it in three
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, ReadLock, 10, 20))
	assert.Equal(t, ok, fs.SetLock(1, ownerB, false, ReadLock, 12, 18))
	assert.Equal(t, EAGAIN, fs.SetLock(1, ownerB, false, ReadLock, 5, 12))
	// unlocking everything leaves nothing
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, Unlock, 0, ToEnd))
	require.Equal(t, ok, fs.SetLock(1, ownerB, false, Unlock, 0, ToEnd))
	assert.False(t, fs.HasLocks(1))
	assert.Equal(t, maxLocks, fs.locks.free())
}

func TestLockProcessOwner(t *testing.T) {
	fs := new(FS)
	fs.Init()
	require.Equal(t, ok, fs.SetLock(1, ProcessOwner, false, WriteLock, 0, ToEnd))
	assert.Equal(t, ok, fs.SetLock(1, ProcessOwner, false, WriteLock, 0, ToEnd), "the process never conflicts with itself")
	assert.Equal(t, EAGAIN, fs.SetLock(1, ownerA, false, ReadLock, 0, 1), "OFD locks conflict with process locks")
	assert.Equal(t, ok, fs.SetLock(1, ownerA, true, WriteLock, 0, ToEnd), "flock is separate")
}

func TestDropLocks(t *testing.T) {
	fs := new(FS)
	fs.Init()
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 0, 10))
	require.Equal(t, ok, fs.SetLock(2, ownerA, true, WriteLock, 0, ToEnd))
	require.Equal(t, ok, fs.SetLock(3, ownerA, false, WriteLock, 0, 10))
	require.Equal(t, ok, fs.SetLock(3, ownerB, false, WriteLock, 10, 20))
	fs.DropLocks(1, ownerA)
	assert.False(t, fs.HasLocks(1))
	assert.True(t, fs.HasLocks(2))
	fs.DropLocks(0, ownerA)
	assert.False(t, fs.HasLocks(2))
	assert.True(t, fs.HasLocks(3), "B's lock stays")
	assert.Equal(t, ok, fs.SetLock(3, ownerB, false, WriteLock, 0, 10))
}

func TestLocksGoWithTheInode(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	require.Equal(t, ok, e.fs.SetLock(f, ownerA, false, WriteLock, 0, ToEnd))
	require.Equal(t, ok, e.unlink("/f"))
	assert.False(t, e.fs.HasLocks(f))
	g := e.create("/g", "") // may reuse the number
	assert.Equal(t, ok, e.fs.SetLock(g, ownerB, false, WriteLock, 0, ToEnd))
}

func TestLockTableFull(t *testing.T) {
	fs := new(FS)
	fs.Init()
	// disjoint locks of one owner take one entry each
	n := 0
	for ; ; n++ {
		err := fs.SetLock(1, ownerA, false, WriteLock, int64(4*n), int64(4*n+3))
		if err != ok {
			assert.Equal(t, ENOLCK, err)
			break
		}
	}
	assert.Equal(t, maxLocks-1, n, "one entry is kept for a split")
	// a conflict is reported before a full table
	assert.Equal(t, EAGAIN, fs.SetLock(1, ownerB, false, WriteLock, 0, 1))
	// unlocking the middle of a lock splits it, using the last entry
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, Unlock, 1, 2))
	assert.Zero(t, fs.locks.free())
	_, busy := fs.TestLock(1, ownerB, false, WriteLock, 1, 2)
	assert.False(t, busy)
	_, busy = fs.TestLock(1, ownerB, false, WriteLock, 2, 3)
	assert.True(t, busy)
	assert.Equal(t, ENOLCK, fs.SetLock(1, ownerA, false, Unlock, 5, 6), "no entry for the split")
	fs.DropLocks(1, ownerA)
	assert.Equal(t, maxLocks, fs.locks.free())
	assert.Equal(t, ok, fs.SetLock(1, ownerB, false, WriteLock, 0, 1))
}

// TestLockMerge checks that touching locks of one owner and type become
// one, as F_GETLK then reports on Linux.
func TestLockMerge(t *testing.T) {
	fs := new(FS)
	fs.Init()
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 0, 10))
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 20, 30))
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 10, 20))
	c, busy := fs.TestLock(1, ownerB, false, ReadLock, 15, 16)
	require.True(t, busy)
	assert.Equal(t, Conflict{Write: true, Owner: ownerA, Start: 0, End: 30}, c)
	assert.Equal(t, maxLocks-1, fs.locks.free())
	// a lock of the other type does not merge
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, ReadLock, 30, 40))
	assert.Equal(t, maxLocks-2, fs.locks.free())
	// re-typing the middle splits, typing it back joins again
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, ReadLock, 5, 25))
	assert.Equal(t, maxLocks-4, fs.locks.free(), "W[0,5) R[5,25) W[25,30) R[30,40)")
	require.Equal(t, ok, fs.SetLock(1, ownerA, false, WriteLock, 5, 25))
	c, busy = fs.TestLock(1, ownerB, false, ReadLock, 29, 30)
	require.True(t, busy)
	assert.Equal(t, Conflict{Write: true, Owner: ownerA, Start: 0, End: 30}, c)
	// sequential record locks need one entry, not one each
	for k := int64(0); k < 2*maxLocks; k++ {
		require.Equal(t, ok, fs.SetLock(2, ownerB, false, WriteLock, 100*k, 100*k+100))
	}
	assert.Equal(t, maxLocks-3, fs.locks.free())
}

// TestLockModel runs random lock requests against a byte-by-byte model
// of who holds what on a 64-byte file.
func TestLockModel(t *testing.T) {
	const size = 64
	owners := []int32{ownerA, ownerB, ProcessOwner}
	type key struct {
		owner int32
		flock bool
	}
	r := rand.New(rand.NewPCG(1, 2))
	fs := new(FS)
	fs.Init()
	held := map[key]*[size]int{} // 0 none, 1 read, 2 write
	state := func(k key) *[size]int {
		if held[k] == nil {
			held[k] = new([size]int)
		}
		return held[k]
	}
	blocked := func(k key, write bool, start, end int64) bool {
		for o, s := range held {
			if o.owner == k.owner || o.flock != k.flock {
				continue
			}
			for b := start; b < end; b++ {
				if s[b] == 2 || s[b] == 1 && write {
					return true
				}
			}
		}
		return false
	}
	for step := 0; step < 20000; step++ {
		k := key{owners[r.IntN(len(owners))], r.IntN(4) == 0}
		start := int64(r.IntN(size))
		end := start + 1 + int64(r.IntN(size-int(start)))
		if k.flock {
			start, end = 0, size
		}
		typ := r.IntN(3)
		if typ != Unlock {
			_, busy := fs.TestLock(1, k.owner, k.flock, typ, start, end)
			require.Equal(t, blocked(k, typ == WriteLock, start, end), busy, "step %d", step)
		}
		err := fs.SetLock(1, k.owner, k.flock, typ, start, end)
		if typ != Unlock && blocked(k, typ == WriteLock, start, end) {
			require.Equal(t, EAGAIN, err, "step %d", step)
			continue
		}
		require.Equal(t, ok, err, "step %d", step)
		for b := start; b < end; b++ {
			state(k)[b] = []int{1, 2, 0}[typ]
		}
	}
	runs := 0 // maximal runs of one type: what merged locks take
	for _, s := range held {
		for b := range size {
			if s[b] != 0 && (b == 0 || s[b-1] != s[b]) {
				runs++
			}
		}
	}
	assert.Equal(t, runs, maxLocks-fs.locks.free(), "one entry per maximal run")
}
