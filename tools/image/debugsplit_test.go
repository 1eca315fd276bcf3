package image

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometal/gometal/tools/symbolize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStripUnloaded strips the stub program linked with the image's link
// flags (DWARF, symbol table, the image's layout) and checks that
// only the unloaded sections went: every segment's bytes and every loaded
// section are unchanged, the section names still resolve, the debug and
// symbol sections are gone, and the file shrank.
func TestStripUnloaded(t *testing.T) {
	data := linkDirect(t, "")
	orig, err := elf.NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	require.NotNil(t, orig.Section(".symtab"), "the test binary must have a symbol table for this test to mean anything")

	out, err := stripUnloaded(data)
	require.NoError(t, err)
	assert.Less(t, len(out), len(data))
	f, err := elf.NewFile(bytes.NewReader(out))
	require.NoError(t, err)
	require.Equal(t, len(orig.Progs), len(f.Progs))
	// Only the ELF header's section fields (e_shoff, e_shnum, e_shstrndx)
	// may differ in the loaded bytes.
	same := bytes.Clone(out)
	copy(same[ehShoff:ehShoff+8], data[ehShoff:])
	copy(same[ehShnum:ehShnum+4], data[ehShnum:])
	for i, p := range orig.Progs {
		assert.Equal(t, p.ProgHeader, f.Progs[i].ProgHeader)
		if p.Filesz > 0 {
			assert.Equal(t, data[p.Off:p.Off+p.Filesz], same[p.Off:p.Off+p.Filesz], "segment %d's bytes", i)
		}
	}
	for _, s := range orig.Sections {
		got := f.Section(s.Name)
		if s.Flags&elf.SHF_ALLOC == 0 && s.Name != ".shstrtab" && s.Type != elf.SHT_NULL {
			assert.Nil(t, got, "%s must be stripped", s.Name)
			continue
		}
		require.NotNil(t, got, "%s must stay", s.Name)
		assert.Equal(t, s.Addr, got.Addr, s.Name)
		if s.Type != elf.SHT_NOBITS && s.Type != elf.SHT_NULL && s.Name != ".shstrtab" {
			want, err := s.Data()
			require.NoError(t, err)
			have, err := got.Data()
			require.NoError(t, err)
			assert.Equal(t, want, have, s.Name)
		}
	}
	_, err = f.Symbols()
	assert.ErrorIs(t, err, elf.ErrNoSymbols)

	again, err := stripUnloaded(out)
	require.NoError(t, err)
	assert.Equal(t, out, again, "stripping a stripped file changes nothing")
	_, err = stripUnloaded([]byte("not an ELF file"))
	assert.Error(t, err)
}

// TestSplitDebug: the build's split leaves the stripped image and, beside
// it, the whole ELF, which symbolize.DebugFile then names; a stale debug
// file is removed before a build.
func TestSplitDebug(t *testing.T) {
	data := linkDirect(t, "")
	img := filepath.Join(t.TempDir(), "x.img")
	require.NoError(t, os.WriteFile(img, data, 0o755))
	assert.Equal(t, img, symbolize.DebugFile(img), "no debug file yet")
	require.NoError(t, splitDebug(img))
	dbg, err := os.ReadFile(img + symbolize.DebugSuffix)
	require.NoError(t, err)
	assert.Equal(t, data, dbg, "the debug file is the image as linked")
	assert.Equal(t, img+symbolize.DebugSuffix, symbolize.DebugFile(img))
	stripped, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.Less(t, len(stripped), len(data))
	require.NoError(t, removeStaleOutput(img))
	assert.NoFileExists(t, img+symbolize.DebugSuffix)
	assert.NoFileExists(t, img)
	require.NoError(t, removeStaleOutput(img), "nothing to remove is fine")
}
