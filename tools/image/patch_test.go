package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkBootable verifies a patched image independently of the patcher's
// own code paths, using debug/elf for the headers.
func checkBootable(t *testing.T, orig, patched []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(patched))
	require.NoError(t, err)
	le := binary.LittleEndian

	// The PVH note: the last note of a PT_NOTE segment, which ends with it.
	var found bool
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data := patched[p.Off : p.Off+p.Filesz]
		for len(data) >= 12 {
			namesz, descsz, typ := le.Uint32(data), le.Uint32(data[4:]), le.Uint32(data[8:])
			size := 12 + (int(namesz)+3)&^3 + (int(descsz)+3)&^3
			require.LessOrEqual(t, size, len(data), "note overruns PT_NOTE")
			if typ == 18 && string(data[12:16]) == "Xen\x00" {
				found = true
				assert.EqualValues(t, 4, namesz)
				assert.EqualValues(t, 8, descsz)
				assert.Equal(t, f.Entry, le.Uint64(data[16:]), "PVH descriptor is e_entry")
				assert.Equal(t, size, len(data), "PT_NOTE ends right after the PVH note")
			}
			data = data[size:]
		}
	}
	assert.True(t, found, "no Xen PVH note in a PT_NOTE segment")

	// The multiboot header: the first magic at a 4-aligned offset.
	var loads []*elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads = append(loads, p)
		}
	}
	require.NotEmpty(t, loads)
	off := -1
	for i := 0; i+32 <= min(len(patched), 8192); i += 4 {
		if le.Uint32(patched[i:]) == 0x1BADB002 {
			off = i
			break
		}
	}
	require.GreaterOrEqual(t, off, 0, "no multiboot magic in the first 8 KiB")
	assert.Equal(t, 0, off%4)
	assert.LessOrEqual(t, off+32, 4096, "header is in the first page")
	assert.True(t, isZero(orig, uint64(off), 32), "header went into zero padding")
	w := func(i int) uint32 { return le.Uint32(patched[off+4*i:]) }
	assert.EqualValues(t, 0x00010002, w(1), "flags")
	assert.Zero(t, w(0)+w(1)+w(2), "checksum")
	bias := loads[0].Paddr - loads[0].Off
	lo, last, memEnd := loads[0].Paddr, loads[0], uint64(0)
	for _, p := range loads {
		assert.Equal(t, p.Vaddr, p.Paddr)
		assert.Equal(t, bias, p.Paddr-p.Off)
		lo = min(lo, p.Paddr)
		if p.Paddr > last.Paddr {
			last = p
		}
		memEnd = max(memEnd, p.Paddr+p.Memsz)
	}
	assert.EqualValues(t, bias+uint64(off), w(3), "header_addr")
	assert.EqualValues(t, lo, w(4), "load_addr")
	assert.EqualValues(t, last.Paddr+last.Filesz, w(5), "load_end_addr")
	assert.EqualValues(t, memEnd, w(6), "bss_end_addr")
	assert.EqualValues(t, f.Entry, w(7), "entry_addr")

	info, err := Inspect(patched)
	require.NoError(t, err)
	assert.True(t, info.Bootable(), "Inspect: %+v", info)
	require.NotNil(t, info.Multiboot)
	assert.EqualValues(t, off, info.Multiboot.Offset)
}

func TestPatchSynthetic(t *testing.T) {
	orig := synthELF()
	patched, err := PatchBytes(orig)
	require.NoError(t, err)
	checkBootable(t, orig, patched)
	assert.Equal(t, synthELF(), orig, "PatchBytes must not modify its input")
}

func TestPatchLinked(t *testing.T) {
	orig := linkDirect(t, "")
	before, err := Inspect(orig)
	require.NoError(t, err)
	assert.Nil(t, before.PVH)
	assert.Nil(t, before.Multiboot)
	require.NotNil(t, before.BuildID)
	assert.Empty(t, before.FlatError)

	patched, err := PatchBytes(orig)
	require.NoError(t, err)
	checkBootable(t, orig, patched)
	assert.Equal(t, symbolAddr(t, patched, stubEntry), mustInspect(t, patched).PVH.Entry)

	// Only the first page changes.
	assert.Equal(t, orig[4096:], patched[4096:])
}

func mustInspect(t *testing.T, img []byte) Info {
	t.Helper()
	info, err := Inspect(img)
	require.NoError(t, err)
	return info
}

func TestPatchIdempotent(t *testing.T) {
	for name, orig := range map[string][]byte{"synthetic": synthELF(), "linked": linkDirect(t, "")} {
		t.Run(name, func(t *testing.T) {
			once, err := PatchBytes(orig)
			require.NoError(t, err)
			twice, err := PatchBytes(once)
			require.NoError(t, err)
			assert.Equal(t, once, twice)
		})
	}
}

func TestPatchFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img")
	require.NoError(t, os.WriteFile(path, synthELF(), 0o751))
	require.NoError(t, Patch(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	checkBootable(t, synthELF(), b)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o751), st.Mode().Perm())

	require.NoError(t, Patch(path), "patching twice")
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, again)

	err = Patch(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}

func TestPatchErrors(t *testing.T) {
	le := binary.LittleEndian
	synth := synthELF()
	cases := map[string]struct {
		img  []byte
		want string
	}{
		"empty":     {nil, "not an ELF"},
		"garbage":   {[]byte("this is not an ELF file at all, really, not at all......................"), "not an ELF"},
		"truncated": {synth[:100], "program headers"},
		"elf32": {func() []byte {
			b := synthELF()
			b[4] = 1
			return b
		}(), "not an ELF"},
		"no build-id": {linkDirect(t, "-T 0x200000 -E "+stubEntry+" -B none"), "no NT_GNU_BUILD_ID"},
		"not adjacent": {func() []byte {
			b := synthELF()
			le.PutUint64(b[elfHeaderSize+32:], 8) // PT_NOTE filesz
			return b
		}(), "NT_GNU_BUILD_ID"},
		"small build-id": {func() []byte {
			b := synthELF()
			le.PutUint32(b[0x100+20+4:], 4) // descsz 4: a 20-byte note
			return b
		}(), "too small"},
		"paddr != vaddr": {func() []byte {
			b := synthELF()
			le.PutUint64(b[elfHeaderSize+progSize+24:], 0x300000)
			return b
		}(), "flat-load invariant"},
		"bias differs": {func() []byte {
			b := synthELF()
			h := b[elfHeaderSize+2*progSize:] // a third PT_LOAD, misplaced
			le.PutUint16(b[56:], 3)
			le.PutUint32(h[0:], ptLoad)
			le.PutUint64(h[8:], 0x1000)
			le.PutUint64(h[16:], 0x400000)
			le.PutUint64(h[24:], 0x400000)
			le.PutUint64(h[32:], 0x100)
			le.PutUint64(h[40:], 0x100)
			return b
		}(), "p_paddr - p_offset"},
		"entry outside": {func() []byte {
			b := synthELF()
			le.PutUint64(b[24:], 0x100)
			return b
		}(), "entry point"},
		"stray magic": {func() []byte {
			b := synthELF()
			le.PutUint32(b[0xb0:], MultibootMagic) // before the free slot, bad checksum
			return b
		}(), "stray multiboot magic"},
		"header in data": {func() []byte {
			b := synthELF()
			h := multibootFor(&elfFile{entry: 0x200010}, layout{bias: 0x1ff000}, 0x1000)
			h.encode(b[0x1000:]) // a valid header, but in the code
			return b
		}(), "inside ELF data"},
		"no room": {func() []byte {
			b := synthELF()
			for i := 0xb0; i < 0x1000; i += 16 {
				if i < 0x100 || i >= 0x144 {
					b[i] = 0x90
				}
			}
			return b
		}(), "no 32 zero bytes"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var out []byte
			var err error
			require.NotPanics(t, func() { out, err = PatchBytes(c.img) })
			require.Error(t, err)
			assert.Nil(t, out)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestInspectCorrupt(t *testing.T) {
	_, err := Inspect([]byte("nope"))
	assert.Error(t, err)
	info, err := Inspect(synthELF())
	require.NoError(t, err)
	assert.False(t, info.Bootable())
	require.NotNil(t, info.BuildID)
	assert.EqualValues(t, 0x114, info.BuildID.Offset)
}

func FuzzPatchBytes(f *testing.F) {
	f.Add(synthELF())
	f.Add(synthELF()[:0x200])
	if p, err := PatchBytes(synthELF()); err == nil {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := PatchBytes(b)
		if err != nil {
			return
		}
		again, err := PatchBytes(out)
		if err != nil {
			t.Fatalf("patched image does not patch again: %v", err)
		}
		if !bytes.Equal(out, again) {
			t.Fatal("patching is not idempotent")
		}
		if _, err := Inspect(out); err != nil {
			t.Fatalf("Inspect of a patched image: %v", err)
		}
	})
}
