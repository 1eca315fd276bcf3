package fdtab

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFlagWordLayout: Desc starts an aligned 64-bit word whose next four
// bytes are Kind, Cloexec, Nonblock and Vector, as FlagWord reads them,
// and the table's entries stay 64 bytes.
func TestFlagWordLayout(t *testing.T) {
	var f File
	assert.Zero(t, unsafe.Offsetof(f.Desc)%8, "Desc starts an aligned word")
	assert.Equal(t, unsafe.Offsetof(f.Desc)+4, unsafe.Offsetof(f.Kind))
	assert.Equal(t, unsafe.Offsetof(f.Desc)+5, unsafe.Offsetof(f.Cloexec))
	assert.Equal(t, unsafe.Offsetof(f.Desc)+6, unsafe.Offsetof(f.Nonblock))
	assert.Equal(t, unsafe.Offsetof(f.Desc)+7, unsafe.Offsetof(f.Vector))
	assert.Equal(t, uintptr(64), unsafe.Sizeof(f))
	assert.Zero(t, uintptr(unsafe.Pointer(&Files[0]))%8, "the table is 8-aligned")
}

// TestFlagWord: a load sees the fields as the plain stores left them, a
// swap changes only its flag, and a swap after any change to the word
// fails and stores nothing.
func TestFlagWord(t *testing.T) {
	saved := Files[5]
	defer func() { Files[5] = saved }()
	Files[5] = File{Kind: KindFile, Desc: 77, Cloexec: true, Vector: 9, Stream: 3}
	w, ok := LoadFlags(5)
	require.True(t, ok)
	assert.Equal(t, KindFile, w.Kind())
	assert.Equal(t, int32(77), w.Desc())
	assert.NotZero(t, w&FlagCloexec)
	assert.Zero(t, w&FlagNonblock)

	require.True(t, SwapFlags(5, w, w.Set(FlagNonblock, true).Set(FlagCloexec, false)))
	assert.True(t, Files[5].Nonblock)
	assert.False(t, Files[5].Cloexec)
	assert.Equal(t, File{Kind: KindFile, Desc: 77, Nonblock: true, Vector: 9, Stream: 3}, Files[5], "nothing else changed")

	assert.False(t, SwapFlags(5, w, w.Set(FlagCloexec, false)), "the word changed since w was read")
	Files[5].Desc = 78 // the locked path's plain store, as an open's
	w2, _ := LoadFlags(5)
	assert.Equal(t, int32(78), w2.Desc())
	Files[5] = File{}
	assert.False(t, SwapFlags(5, w2, w2.Set(FlagNonblock, false)), "closed meanwhile")
	assert.Equal(t, File{}, Files[5])

	_, ok = LoadFlags(-1)
	assert.False(t, ok)
	_, ok = LoadFlags(MaxFDs)
	assert.False(t, ok)
}

// TestSetFlag: SetFlag sets its flag whatever the other flag became
// since the caller's load (another flag call beside), and leaves the
// descriptor alone once its word names another description or a free
// slot (closed beside, and perhaps given to another open).
func TestSetFlag(t *testing.T) {
	saved := Files[5]
	defer func() { Files[5] = saved }()
	Files[5] = File{Kind: KindPipe, Desc: 77}
	first, _ := LoadFlags(5)
	Files[5].Cloexec = true // another flag call's change since the load
	SetFlag(5, first, FlagNonblock, true)
	assert.Equal(t, File{Kind: KindPipe, Desc: 77, Cloexec: true, Nonblock: true}, Files[5], "both flags")
	SetFlag(5, first, FlagCloexec, false)
	assert.False(t, Files[5].Cloexec)

	Files[5] = File{Kind: KindFile, Desc: 78} // closed and opened again beside
	SetFlag(5, first, FlagNonblock, true)
	assert.Equal(t, File{Kind: KindFile, Desc: 78}, Files[5], "another descriptor: left alone")
	Files[5] = File{}
	SetFlag(5, first, FlagCloexec, true)
	assert.Equal(t, File{}, Files[5], "a free slot: left alone")
}
