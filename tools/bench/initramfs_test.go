package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/u-root/u-root/pkg/cpio"
)

func TestWriteInitramfs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.WriteFile(bin, []byte("\x7fELF pretend"), 0o755))
	img := filepath.Join(dir, "initramfs.cpio")
	require.NoError(t, WriteInitramfs(img, bin))

	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	rr, err := cpio.Newc.NewFileReader(f)
	require.NoError(t, err)
	recs, err := cpio.ReadAllRecords(rr)
	require.NoError(t, err)
	byName := map[string]cpio.Record{}
	var names []string
	for _, r := range recs {
		byName[r.Name] = r
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"dev", "dev/console", "dev/port", "proc", "init"}, names)
	raw, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.Contains(t, string(raw), cpio.Trailer, "the archive must end with a trailer")
	assert.Equal(t, uint64(cpio.S_IFCHR|0o600), byName["dev/console"].Mode)
	assert.Equal(t, [2]uint64{5, 1}, [2]uint64{byName["dev/console"].Rmajor, byName["dev/console"].Rminor})
	assert.Equal(t, [2]uint64{1, 4}, [2]uint64{byName["dev/port"].Rmajor, byName["dev/port"].Rminor})
	init := byName["init"]
	assert.Equal(t, uint64(cpio.S_IFREG|0o755), init.Mode)
	content := make([]byte, init.FileSize)
	_, err = init.ReadAt(content, 0)
	require.NoError(t, err)
	assert.Equal(t, "\x7fELF pretend", string(content))

	assert.Error(t, WriteInitramfs(filepath.Join(dir, "x"), filepath.Join(dir, "missing")))
}
