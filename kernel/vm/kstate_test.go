package vm

import (
	"testing"

	"github.com/gometal/gometal/kernel/mm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withKernelState installs a table of rs for the test.
func withKernelState(t *testing.T, rs ...mm.StateRange) {
	saved := kernelState
	t.Cleanup(func() { kernelState = saved })
	kernelState = mm.StateTable{Magic: mm.StateMagic, N: uint64(len(rs)), Check: mm.StateCheck(rs)}
	copy(kernelState.Ranges[:], rs)
	require.Equal(t, "", kernelState.Problem(0, 1<<63))
}

// TestKernelStateVDSO: the vDSO page is kernel state the program may read
// (a write(2) from it), never write (a read(2) into it); the kernel
// variables around it stay refused both ways.
func TestKernelStateVDSO(t *testing.T) {
	const vs, ve = 0x200000, 0x201000 // where the vDSO page is, for the test
	savedStart, savedEnd := vdsoStart, vdsoEnd
	t.Cleanup(func() { SetVDSO(savedStart, savedEnd) })
	SetVDSO(vs, ve)
	withKernelState(t, mm.StateRange{Start: 0x10000, End: 0x10010}, mm.StateRange{Start: vs - 16, End: ve + 16})
	a := func(x uint64) uintptr { return uintptr(x) }

	assert.False(t, IsKernelState(a(vs), 4096, false), "reading the page")
	assert.True(t, IsKernelState(a(vs), 4096, true), "writing the page")
	assert.True(t, IsKernelState(a(vs-1), 2, false), "reading one byte before it")
	assert.True(t, IsKernelState(a(ve-1), 2, false), "reading one byte after it")
	assert.True(t, IsKernelState(0x1000f, 1, false))
	assert.False(t, IsKernelState(0x10010, 0x100, true))

	assert.Equal(t, uintptr(16), UserPrefix(a(vs-32), 64, false), "a string read stops at the variable before the page")
	assert.Equal(t, uintptr(4096), UserPrefix(a(vs), 8192, false), "and at the one after it")
	assert.Equal(t, uintptr(0), UserPrefix(a(vs), 8192, true))
	assert.Equal(t, uintptr(0x100), UserPrefix(0x10010, 0x100, true), "nothing in the way")
}

// TestKernelStateEmptyTable: with no ranges (a host test binary: the
// kernel fails closed at boot instead) nothing is refused.
func TestKernelStateEmptyTable(t *testing.T) {
	saved := kernelState
	t.Cleanup(func() { kernelState = saved })
	kernelState = mm.StateTable{Magic: mm.StateMagic}
	assert.False(t, IsKernelState(0x1000, 1<<40, true))
	assert.Equal(t, uintptr(1<<40), UserPrefix(0x1000, 1<<40, true))
}
