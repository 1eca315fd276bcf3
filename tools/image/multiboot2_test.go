package image

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMultiboot2Header(t *testing.T) {
	orig := linkDirect(t, "")
	patched, err := PatchBytes(orig)
	require.NoError(t, err)
	h, ok := findMultiboot2(patched)
	require.True(t, ok, "both-protocol images carry a multiboot2 header")
	assert.Zero(t, h.Offset%multiboot2Align)
	assert.Less(t, h.Offset+multiboot2Size, int64(firstPage))
	mb := mustInspect(t, patched).Multiboot
	require.NotNil(t, mb)
	assert.Equal(t, mb.LoadAddr, h.LoadAddr)
	assert.Equal(t, mb.LoadEndAddr, h.LoadEndAddr)
	assert.Equal(t, mb.BSSEndAddr, h.BSSEndAddr)
	assert.Equal(t, uint32(symbolAddr(t, patched, stubEntry)), h.EntryAddr)
	assert.Equal(t, h.LoadAddr+uint32(h.Offset), h.HeaderAddr, "flat layout: header address = load address + offset")
	// The two headers do not overlap.
	assert.True(t, h.Offset >= mb.Offset+multibootSize || h.Offset+multiboot2Size <= mb.Offset)
	// Tags: address (2, 24 bytes), entry (3, 12), framebuffer (5, optional,
	// 20 bytes, 32 bits per pixel), end (0, 8).
	b := patched[h.Offset:]
	assert.Equal(t, []uint32{2, 24, 3, 12, 5, 1, 20, 32, 0, 8}, []uint32{
		uint32(le.Uint16(b[16:])), le.Uint32(b[20:]), uint32(le.Uint16(b[40:])), le.Uint32(b[44:]),
		uint32(le.Uint16(b[56:])), uint32(le.Uint16(b[58:])), le.Uint32(b[60:]), le.Uint32(b[72:]),
		uint32(le.Uint16(b[80:])), le.Uint32(b[84:])})

	again, err := PatchBytes(patched)
	require.NoError(t, err)
	assert.Equal(t, patched, again, "idempotent")

	pvh, err := PatchBootBytes(patched, BootPVH)
	require.NoError(t, err)
	_, ok = findMultiboot2(pvh)
	assert.False(t, ok, "PVH-only images carry no multiboot2 header")
}
