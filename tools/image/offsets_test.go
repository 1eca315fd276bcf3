package image

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The round trip through WriteRuntimeOffsets into the kernel's variable is
// tested on the kernel's side (kernel/timeslice/slice_test.go), which links it.

// writeELF writes img to a file in a test directory.
func writeELF(t *testing.T, img []byte) string {
	path := filepath.Join(t.TempDir(), "img.elf")
	require.NoError(t, os.WriteFile(path, img, 0o755))
	return path
}

// TestReadRuntimeOffsets reads the layout of the runtime linked into a
// stand-in image and checks what must hold of any layout: the compiler's
// fixed g.stackguard0, every field inside its struct, none overlapping.
func TestReadRuntimeOffsets(t *testing.T) {
	o, err := ReadRuntimeOffsets(writeELF(t, linkDirect(t, "")))
	require.NoError(t, err)
	assert.EqualValues(t, 16, o.GStackguard0, "g.stackguard0 is where compiled prologues read it")
	words := o.Words()
	require.Len(t, words, len(runtimeLayout))
	sizes := map[string]uint64{"runtime.g": o.GSize, "runtime.m": o.MSize, "runtime.p": o.PSize}
	type span struct {
		name     string
		off, end uint64
	}
	spans := map[string][]span{}
	for i, f := range runtimeLayout {
		if f.size == 0 {
			assert.Equal(t, sizes[f.name], words[i], f.name)
			continue
		}
		s, _, _ := cutLast(f.name)
		end := words[i] + uint64(f.size)
		assert.LessOrEqual(t, end, sizes[s], "%s lies inside %s", f.name, s)
		for _, other := range spans[s] {
			assert.True(t, end <= other.off || other.end <= words[i], "%s overlaps %s", f.name, other.name)
		}
		spans[s] = append(spans[s], span{f.name, words[i], end})
	}
}

func TestReadRuntimeOffsetsWithoutDWARF(t *testing.T) {
	_, err := ReadRuntimeOffsets(writeELF(t, linkDirect(t, ldflagsFor(stubEntry)+" -w")))
	assert.ErrorIs(t, err, ErrUnknownLayout)
	assert.ErrorContains(t, err, "the image has no DWARF")
}

// TestReadLayoutUnknown: a field the runtime renamed or resized, or a
// struct it dropped, makes the layout unknown.
func TestReadLayoutUnknown(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(linkDirect(t, "")))
	require.NoError(t, err)
	d, err := f.DWARF()
	require.NoError(t, err)
	vals, err := readLayout(d, []layoutField{{"runtime.g", 0}, {"runtime.g.preempt", 1}})
	require.NoError(t, err, "the fields the kernel uses are there")
	assert.Len(t, vals, 2)
	for _, c := range []struct {
		field layoutField
		want  string
	}{
		{layoutField{"runtime.g.preemptFlag", 1}, "runtime.g.preemptFlag not found in DWARF"},
		{layoutField{"runtime.g.preempt", 4}, "runtime.g.preempt is 1 bytes, the kernel expects 4"},
		{layoutField{"runtime.gee.preempt", 1}, "runtime.gee not found in DWARF"},
		{layoutField{"runtime.gee", 0}, "runtime.gee not found in DWARF"},
	} {
		_, err := readLayout(d, append([]layoutField{{"runtime.g.m", 8}}, c.field))
		assert.ErrorIs(t, err, ErrUnknownLayout, c.field.name)
		assert.ErrorContains(t, err, c.want)
	}
}

// TestFillRuntimeOffsetsDegrades: an image without DWARF builds, with a
// warning, and its kernel's copy of the offsets is left as it was.
func TestFillRuntimeOffsetsDegrades(t *testing.T) {
	img := linkDirect(t, ldflagsFor(stubEntry)+" -w")
	path := writeELF(t, img)
	var warn strings.Builder
	require.NoError(t, fillRuntimeOffsets(path, &warn))
	assert.Contains(t, warn.String(), "warning: runtime layout unknown")
	assert.Contains(t, warn.String(), "sysmon")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, img, after, "the image is not touched")
}

// TestFillRuntimeOffsetsNeedsKernel: with DWARF but no kernel variable
// (a stand-in image), writing fails loudly rather than silently.
func TestFillRuntimeOffsetsNeedsKernel(t *testing.T) {
	var warn strings.Builder
	err := fillRuntimeOffsets(writeELF(t, linkDirect(t, "")), &warn)
	assert.ErrorIs(t, err, errNoOffsetsSymbol)
	assert.Empty(t, warn.String())
}

func TestCheckWord(t *testing.T) {
	w := []uint64{1, 2, 3}
	assert.NotEqual(t, CheckWord(w), CheckWord([]uint64{1, 2, 4}))
	assert.NotEqual(t, CheckWord(w), CheckWord([]uint64{2, 1, 3}), "order matters")
	assert.Equal(t, CheckWord(w), CheckWord([]uint64{1, 2, 3}))
}
