package image

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"github.com/gometal/gometal/tools/symbolize"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The stand-in kernel in testdata/stubmod.
const (
	stubKernel = "example.com/stubmod/kernel"
	stubEntry  = "example.com/stubmod/boot.entry32"
)

var cacheDir string // images linked once per test run

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gometal-image-test-")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func stubRoot(t testing.TB) string {
	dir, err := filepath.Abs(filepath.Join("testdata", "stubmod"))
	require.NoError(t, err)
	return dir
}

func stubTarget(t testing.TB) target {
	return target{kernelPkg: stubKernel, entry: stubEntry, root: stubRoot(t), archive: stubKernel + ".embeddedArchive"}
}

var (
	linkMu    sync.Mutex
	linkCache = map[string][]byte{}
)

// linkDirect links testdata/stubmod/direct with the image link flags (or
// with ldflags, if not empty) and returns the unpatched ELF.
func linkDirect(t testing.TB, ldflags string) []byte {
	t.Helper()
	if ldflags == "" {
		ldflags = ldflagsFor(stubEntry)
	}
	linkMu.Lock()
	defer linkMu.Unlock()
	if b, ok := linkCache[ldflags]; ok {
		return bytes.Clone(b)
	}
	out := filepath.Join(cacheDir, "direct"+string(rune('a'+len(linkCache)))+".elf")
	_, err := goRunner{dir: stubRoot(t)}.run(context.Background(), "build", "-ldflags", ldflags, "-o", out, "./direct")
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	linkCache[ldflags] = b
	return bytes.Clone(b)
}

// symbolAddr returns the address of symbol name in an ELF image.
func symbolAddr(t testing.TB, img []byte, name string) uint64 {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(img))
	require.NoError(t, err)
	syms, err := f.Symbols()
	require.NoError(t, err)
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("symbol %s not found", name)
	return 0
}

// hasSymbol reports whether the ELF image defines symbol name.
func hasSymbol(t testing.TB, img []byte, name string) bool {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(img))
	require.NoError(t, err)
	syms, err := f.Symbols()
	require.NoError(t, err)
	for _, s := range syms {
		if s.Name == name {
			return true
		}
	}
	return false
}

// synthELF returns a small hand-made image with the layout the Go linker
// produces: one PT_LOAD at 0x1ff000 covering the file, a PT_NOTE holding
// a Go-style note and ending right before a 32-byte GNU build-id note.
func synthELF() []byte {
	const (
		size   = 0x1100
		noteAt = 0x100
		bias   = 0x1ff000
		entry  = 0x200010
	)
	b := make([]byte, size)
	le := binary.LittleEndian
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], etExec)
	le.PutUint16(b[18:], emX86_64)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], entry)
	le.PutUint64(b[32:], elfHeaderSize)
	le.PutUint16(b[52:], elfHeaderSize)
	le.PutUint16(b[54:], progSize)
	le.PutUint16(b[56:], 2)
	le.PutUint16(b[58:], sectSize)

	ph := func(i int, typ, flags uint32, off, addr, filesz, memsz, align uint64) {
		h := b[elfHeaderSize+i*progSize:]
		le.PutUint32(h[0:], typ)
		le.PutUint32(h[4:], flags)
		le.PutUint64(h[8:], off)
		le.PutUint64(h[16:], addr)
		le.PutUint64(h[24:], addr)
		le.PutUint64(h[32:], filesz)
		le.PutUint64(h[40:], memsz)
		le.PutUint64(h[48:], align)
	}
	// A "Go" note of type 4 with a 4-byte descriptor: 20 bytes.
	n := b[noteAt:]
	le.PutUint32(n[0:], 3)
	le.PutUint32(n[4:], 4)
	le.PutUint32(n[8:], 4)
	copy(n[12:], "Go\x00")
	copy(n[16:], "abcd")
	ph(0, ptNote, 4, noteAt, bias+noteAt, 20, 20, 4)
	// The build-id note right after it.
	id := b[noteAt+20:]
	le.PutUint32(id[0:], 4)
	le.PutUint32(id[4:], buildIDSize)
	le.PutUint32(id[8:], ntGNUBuildID)
	copy(id[12:], "GNU\x00")
	ph(1, ptLoad, 5, 0, bias, size, 0x2000, 0x1000)
	// Some "code" at the entry point.
	copy(b[entry-bias:], []byte{0xf4, 0xeb, 0xfd})
	return b
}

// debugOf returns the debug file the build wrote beside the image at path
// (the image as linked, with its symbol table), failing the test when
// there is none: every build must write one.
func debugOf(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path + symbolize.DebugSuffix)
	require.NoError(t, err, "the build must keep the debug information beside the image")
	return b
}
