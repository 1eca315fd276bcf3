package vfs

import (
	"sync"
	"testing"

	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReserveMem: a write beside others charges its most pages to Pages
// and the commit before it writes, and Done, with the budget taken off
// what the write took, leaves both where the write's own pages put
// them; a charge that does not fit, or a write larger than
// MaxSharedWrite, charges nothing and sends the write to the exclusive
// path; at boot (no commit limit yet) nothing is charged.
func TestReserveMem(t *testing.T) {
	oldLimit, oldPages, oldMax := vm.CommitLimit, Pages, MaxPages
	t.Cleanup(func() { vm.CommitLimit, Pages, MaxPages = oldLimit, oldPages, oldMax })
	vm.CommitLimit = 0
	m, ok := ReserveMem(0, 4096)
	require.True(t, ok, "at boot")
	assert.Equal(t, fs.WritePages(0, 4096), m.Budget)
	assert.Zero(t, Pages)

	committed := vm.Committed()
	t.Cleanup(func() { vm.Uncommit(vm.Committed() - committed) }) // the charge as it was, whatever failed
	vm.CommitLimit = committed + 100*fs.PageSize
	MaxPages, Pages = 50, 10
	want := fs.WritePages(8192, 3*4096) // 3 data pages and 12 for the index
	m, ok = ReserveMem(8192, 3*4096)
	require.True(t, ok)
	assert.Equal(t, want, m.Budget)
	assert.Equal(t, 10+want, Pages, "the most pages are charged before the write")
	assert.Equal(t, committed+uint64(want)*fs.PageSize, vm.Committed())
	m.Taken = 3 // what the write took
	m.Taken -= m.Budget
	Done(&m)
	assert.Equal(t, int64(13), Pages, "what the write did not take is given back")
	assert.Equal(t, committed+3*fs.PageSize, vm.Committed())

	_, ok = ReserveMem(0, 30*4096) // 30 data pages and 12: past MaxPages
	assert.False(t, ok)
	assert.Equal(t, int64(13), Pages, "a refused charge charges nothing")
	assert.Equal(t, committed+3*fs.PageSize, vm.Committed())

	MaxPages = 1000 // now the commit limit is the one that refuses
	_, ok = ReserveMem(0, 90*4096)
	assert.False(t, ok)
	assert.Equal(t, int64(13), Pages, "a charge the commit refuses gives its pages back")
	assert.Equal(t, committed+3*fs.PageSize, vm.Committed())

	vm.CommitLimit, MaxPages = committed+10000*fs.PageSize, 10000 // room for both below
	_, ok = ReserveMem(0, MaxSharedWrite+1)
	assert.False(t, ok, "a write past MaxSharedWrite holds the files lock exclusively")
	assert.Equal(t, int64(13), Pages)
	m, ok = ReserveMem(0, MaxSharedWrite)
	assert.True(t, ok)
	m.Taken -= m.Budget // it took nothing: an overwrite
	Done(&m)
	assert.Equal(t, int64(13), Pages)
	assert.Equal(t, committed+3*fs.PageSize, vm.Committed())

	// A call that may add a directory entry charges two pages and their
	// index pages: the directory's and a new symbolic link's target
	// (fs.FS.Symlink), beside others (Mem.Now set).
	m, ok = ReserveEntry()
	require.True(t, ok)
	assert.Equal(t, fs.WritePages(0, 2*fs.PageSize), m.Budget)
	assert.Equal(t, int64(2), fs.WritePages(0, 2*fs.PageSize)-fs.WritePages(0, 0), "two data pages")
	assert.True(t, m.Shared())
	m.Taken -= m.Budget
	Done(&m)
	assert.Equal(t, int64(13), Pages)
}

// TestAllocDescBeside: opens beside each other (the files lock held
// shared) each claim a description of their own, whole, and one given
// back with FreeDesc is free again. Run with -race.
func TestAllocDescBeside(t *testing.T) {
	saved := Descs
	t.Cleanup(func() { Descs = saved })
	Descs = [MaxDescs]Desc{}
	const openers, each = 8, MaxDescs / 8
	got := make([][]int32, openers)
	var wg sync.WaitGroup
	for o := range openers {
		wg.Go(func() {
			for k := range each {
				got[o] = append(got[o], AllocDesc(fs.Ino(o*each+k+1), o))
			}
		})
	}
	wg.Wait()
	seen := map[int32]bool{}
	for o, ds := range got {
		for k, d := range ds {
			require.GreaterOrEqual(t, d, int32(0))
			assert.False(t, seen[d], "description %d taken twice", d)
			seen[d] = true
			assert.Equal(t, Desc{Refs: 1, Ino: fs.Ino(o*each + k + 1), Flags: int32(o)}, Descs[d])
		}
	}
	assert.Equal(t, int32(-1), AllocDesc(1, 0), "every description is taken")
	FreeDesc(17)
	assert.Equal(t, int32(17), AllocDesc(2, 0))
}
