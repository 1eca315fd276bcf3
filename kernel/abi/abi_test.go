package abi

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func words(c *Cmdline, list []Span) []string {
	var out []string
	for _, s := range list {
		out = append(out, string(c.Word(s)))
	}
	return out
}

func TestCmdlineSplit(t *testing.T) {
	var c Cmdline
	c.Parse([]byte(`  GOMAXPROCS=1 quiet GODEBUG=gctrace=1 loglevel=3 "FOO=a b" nokaslr -- -flag value -- x  `))
	assert.Equal(t, []string{"GOMAXPROCS=1", "GODEBUG=gctrace=1", "FOO=a b"}, words(&c, c.Env[:c.NEnv]))
	assert.Equal(t, []string{"-flag", "value", "--", "x"}, words(&c, c.Args[:c.NArgs]))
	assert.Equal(t, []string{"quiet", "loglevel=3", "nokaslr"}, words(&c, c.Kernel[:c.NKernel]))
	assert.True(t, c.Flag("quiet"))
	assert.False(t, c.Flag("debug"))
	assert.False(t, c.Overflowed)
}

func TestCmdlineEmptyAndOverflow(t *testing.T) {
	var c Cmdline
	c.Parse(nil)
	assert.Zero(t, c.NEnv+c.NArgs+c.NKernel)
	long := make([]byte, 0, 10000)
	for i := 0; i < 300; i++ {
		long = append(long, "A=1 "...)
	}
	c.Parse(long)
	assert.Equal(t, MaxWords, c.NEnv)
	assert.True(t, c.Overflowed)
}

func cstr(mem []byte, base, addr uintptr) string {
	off := addr - base
	end := off
	for mem[end] != 0 {
		end++
	}
	return string(mem[off:end])
}

func TestBuildStackLayout(t *testing.T) {
	var c Cmdline
	c.Parse([]byte("A=1 B=2 -- x yz"))
	mem := make([]byte, 4096)
	base := uintptr(unsafe.Pointer(&mem[0]))
	top := base + uintptr(len(mem))
	var args, env [4096]byte
	img := StackImage{Argv0: []byte("/init")}
	img.Args[0] = c.Pack(c.Args[:c.NArgs], args[:])
	img.Env[0] = c.Pack(c.Env[:c.NEnv], env[:])
	img.Random = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	img.Aux[0] = Aux{AT_PAGESZ, 4096}
	img.Aux[1] = Aux{AT_HWCAP, 0xabc}
	img.NAux = 2
	sp := Build(mem, top, &img)
	require.NotZero(t, sp)
	assert.Zero(t, sp%16)
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem[sp-base+uintptr(8*i):]) }
	require.Equal(t, uint64(3), w(0))
	assert.Equal(t, "/init", cstr(mem, base, uintptr(w(1))))
	assert.Equal(t, "x", cstr(mem, base, uintptr(w(2))))
	assert.Equal(t, "yz", cstr(mem, base, uintptr(w(3))))
	assert.Zero(t, w(4))
	assert.Equal(t, "A=1", cstr(mem, base, uintptr(w(5))))
	assert.Equal(t, "B=2", cstr(mem, base, uintptr(w(6))))
	assert.Zero(t, w(7))
	aux := map[uint64]uint64{}
	i := 8
	for ; w(i) != AT_NULL; i += 2 {
		aux[w(i)] = w(i + 1)
	}
	assert.Equal(t, uint64(4096), aux[AT_PAGESZ])
	assert.Equal(t, uint64(0xabc), aux[AT_HWCAP])
	assert.Equal(t, "x86_64", cstr(mem, base, uintptr(aux[AT_PLATFORM])))
	r := aux[AT_RANDOM] - uint64(base)
	assert.Equal(t, img.Random[:], mem[r:r+16])
	assert.Equal(t, "/init", cstr(mem, base, uintptr(aux[AT_EXECFN])))
	assert.Equal(t, "/init\x00x\x00yz\x00", string(mem[img.ArgStart-base:img.ArgEnd-base]), "arg_start to arg_end")
	assert.LessOrEqual(t, top-sp, StackBytes(&img))
}

// TestBuildStackParts lays out arguments and environment given in parts,
// empty strings and empty parts among them, in order.
func TestBuildStackParts(t *testing.T) {
	mem := make([]byte, 4096)
	base := uintptr(unsafe.Pointer(&mem[0]))
	top := base + uintptr(len(mem))
	img := StackImage{Argv0: []byte("/init")}
	img.Args[0] = Strings{B: []byte("a b\x00\x00"), N: 2}
	img.Args[2] = Strings{B: []byte("\"q\"\x00"), N: 1}
	img.Env[1] = Strings{B: []byte("K=\x00X=1\x00"), N: 2}
	img.Env[2] = Strings{B: []byte("HOME=/\x00"), N: 1}
	sp := Build(mem, top, &img)
	require.NotZero(t, sp)
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem[sp-base+uintptr(8*i):]) }
	require.Equal(t, uint64(4), w(0))
	var got []string
	for i := 1; w(i) != 0; i++ {
		got = append(got, cstr(mem, base, uintptr(w(i))))
	}
	assert.Equal(t, []string{"/init", "a b", "", `"q"`}, got)
	got = nil
	for i := 6; w(i) != 0; i++ {
		got = append(got, cstr(mem, base, uintptr(w(i))))
	}
	assert.Equal(t, []string{"K=", "X=1", "HOME=/"}, got)
	assert.True(t, img.Env[1].HasKey("X="))
	assert.False(t, img.Env[1].HasKey("HOME="))
}

func TestBuildStackTooSmall(t *testing.T) {
	var c Cmdline
	c.Parse([]byte("A=1 -- x"))
	mem := make([]byte, 64)
	top := uintptr(unsafe.Pointer(&mem[0])) + 64
	var buf [4096]byte
	img := StackImage{Argv0: []byte("/init")}
	img.Args[0] = c.Pack(c.Args[:c.NArgs], buf[:])
	assert.Zero(t, Build(mem, top, &img))
}

func TestStringsAppend(t *testing.T) {
	var buf [8]byte
	var l Strings
	l, ok := l.Append(buf[:], []byte("A=1"))
	require.True(t, ok)
	l, ok = l.Append(buf[:], []byte("B="))
	require.True(t, ok)
	assert.Equal(t, Strings{B: []byte("A=1\x00B=\x00"), N: 2}, l)
	_, ok = l.Append(buf[:], []byte("C"))
	assert.False(t, ok, "no room")
}

// TestSplitArgBlock reads the block qemu.EncodeArgBlock writes, behind an
// archive and alone, and refuses a damaged one.
func TestSplitArgBlock(t *testing.T) {
	blk := []byte{2, 0, 0, 0, 1, 0, 0, 0}
	blk = append(blk, "a\x00\x00K=v\x00"...)
	mod := append([]byte("cpio!"), blk...)
	mod = binary.LittleEndian.AppendUint64(mod, uint64(len(blk)))
	mod = append(mod, ArgBlockMagic...)
	rest, b, found, bad := SplitArgBlock(mod)
	require.True(t, found)
	assert.False(t, bad)
	assert.Equal(t, "cpio!", string(rest))
	assert.Equal(t, ArgBlock{Args: []byte("a\x00\x00"), Env: []byte("K=v\x00"), NArgs: 2, NEnv: 1}, b)

	rest, _, found, bad = SplitArgBlock([]byte("just an archive"))
	assert.False(t, found || bad)
	assert.Equal(t, "just an archive", string(rest))

	mod[5] = 3 // three arguments, but only two strings before the environment's
	_, _, found, bad = SplitArgBlock(mod)
	assert.False(t, found)
	assert.True(t, bad)
}

func TestELFHashMatchesTheRuntime(t *testing.T) {
	// The hashes runtime/vdso_linux_amd64.go looks the symbols up with.
	assert.Equal(t, uint32(0xd35ec75), ELFHash("__vdso_clock_gettime"))
	assert.Equal(t, uint32(0x315ca59), ELFHash("__vdso_gettimeofday"))
	assert.Equal(t, uint32(0x25425d), ELFHash("__vdso_getrandom"))
	assert.Equal(t, uint32(0x3ae75f6), ELFHash("LINUX_2.6"))
}

// TestVDSOParses walks the image the way the Go runtime's parser does and
// finds both functions at their addresses.
func TestVDSOParses(t *testing.T) {
	var page [VDSOSize]byte
	base := uintptr(0x7f0000001000)
	syms := []VDSOSymbol{{"__vdso_clock_gettime", 0x212340}, {"__vdso_gettimeofday", 0x212380}}
	require.True(t, BuildVDSO(&page, base, syms))
	le := binary.LittleEndian
	b := page[:]
	require.Equal(t, "\x7fELF", string(b[:4]))
	phoff, phnum := le.Uint64(b[32:]), le.Uint16(b[56:])
	var loadOffset uint64
	var dyn uint64
	foundLoad := false
	for i := uint64(0); i < uint64(phnum); i++ {
		ph := b[phoff+56*i:]
		switch le.Uint32(ph) {
		case 1:
			if !foundLoad {
				foundLoad = true
				loadOffset = uint64(base) + le.Uint64(ph[8:]) - le.Uint64(ph[16:])
			}
		case 2:
			dyn = le.Uint64(ph[8:])
		}
	}
	require.True(t, foundLoad)
	require.NotZero(t, dyn)
	var strtab, symtab, hash, verdef, versym, strsz uint64
	for off := dyn; ; off += 16 {
		tag, val := le.Uint64(b[off:]), le.Uint64(b[off+8:])
		if tag == 0 {
			break
		}
		p := loadOffset + val - uint64(base) // back to a page offset
		switch tag {
		case 10:
			strsz = val // DT_STRSZ, BuildVDSO's one value in the dynamic section's constant
		case 4:
			hash = p
		case 5:
			strtab = p
		case 6:
			symtab = p
		case 0x6ffffffc:
			verdef = p
		case 0x6ffffff0:
			versym = p
		}
	}
	// The string table: a NUL, the soname, the version and the names,
	// each with its NUL.
	assert.Equal(t, uint64(1+len(vdsoSoname)+1+len(vdsoVersion)+1+len(syms[0].Name)+1+len(syms[1].Name)+1), strsz, "DT_STRSZ")
	// The version the runtime wants, LINUX_2.6, is definition index 2.
	require.NotZero(t, verdef)
	require.NotZero(t, versym)
	want := -1
	for def := verdef; ; {
		if le.Uint16(b[def+2:])&1 == 0 {
			aux := def + uint64(le.Uint32(b[def+12:]))
			if le.Uint32(b[def+8:]) == 0x3ae75f6 && cstrAt(b[strtab+uint64(le.Uint32(b[aux:])):]) == "LINUX_2.6" {
				want = int(le.Uint16(b[def+4:]) & 0x7fff)
			}
		}
		next := le.Uint32(b[def+16:])
		if next == 0 {
			break
		}
		def += uint64(next)
	}
	require.Equal(t, 2, want)
	nbucket, nchain := le.Uint32(b[hash:]), le.Uint32(b[hash+4:])
	bucket := func(i uint32) uint32 { return le.Uint32(b[hash+8+4*uint64(i):]) }
	chain := func(i uint32) uint32 { return le.Uint32(b[hash+8+4*uint64(nbucket)+4*uint64(i):]) }
	for _, s := range syms {
		found := false
		for c := bucket(ELFHash(s.Name) % nbucket); c != 0; c = chain(c) {
			require.Less(t, c, nchain)
			sym := b[symtab+24*uint64(c):]
			name := cstrAt(b[strtab+uint64(le.Uint32(sym)):])
			if name != s.Name {
				continue
			}
			assert.Equal(t, byte(0x12), sym[4], "global function")
			assert.Equal(t, uint16(want), le.Uint16(b[versym+2*uint64(c):]), "symbol version")
			assert.NotZero(t, le.Uint16(sym[6:]), "defined")
			assert.Equal(t, uint64(s.Addr), loadOffset+le.Uint64(sym[8:]))
			found = true
			break
		}
		assert.True(t, found, s.Name)
	}
}

func cstrAt(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// TestMinMemory checks the rule against the measured minimum of
// examples/hello (image end 0x70c700): 16 MiB on one CPU (the kernel
// leaves the program 9548 KiB of the 9216 it needs; 15 MiB leaves 8524),
// 18 MiB on four.
func TestMinMemory(t *testing.T) {
	assert.Equal(t, uint64(16<<20), MinMemory(0x70c700, 0, 1))
	assert.Equal(t, uint64(18<<20), MinMemory(0x70c700, 0, 4))
	assert.Equal(t, MinMemory(0x70c700, 0, 1), MinMemory(0x70c700, 0, 0), "0 CPUs counts as 1")
	assert.Equal(t, uint64(20<<20), MinMemory(0x70c700, 4<<20, 1), "boot modules take RAM too")
	assert.Equal(t, uint64(15<<20), MinMemory(0x5d2680, 0, 1), "a smaller image needs less")
	assert.Equal(t, uint64(9<<20), ProgramMemory(1))
	assert.Equal(t, uint64(21<<19), ProgramMemory(4))
}

// TestVDSOTemplates: the vDSO's fixed parts, kept as constants
// (vdsoHeaders, vdsoDynamic, vdsoStrings, vdsoVerdefs), hold what the
// layout's constants say, built here field by field: the ELF header, a
// PT_LOAD of the page, a PT_DYNAMIC of the dynamic section, the dynamic
// entries (DT_STRSZ's value 0, which BuildVDSO stores), the string
// table's start and the two version definitions.
func TestVDSOTemplates(t *testing.T) {
	le := binary.LittleEndian
	h := make([]byte, vdsoPhdrs+2*56)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1 // 64-bit, little endian, version 1
	le.PutUint16(h[16:], 3)    // ET_DYN
	le.PutUint16(h[18:], 62)   // EM_X86_64
	le.PutUint32(h[20:], 1)
	le.PutUint64(h[32:], vdsoPhdrs)
	le.PutUint16(h[52:], 64) // e_ehsize
	le.PutUint16(h[54:], 56) // e_phentsize
	le.PutUint16(h[56:], 2)  // e_phnum
	le.PutUint16(h[58:], 64) // e_shentsize
	ph := h[vdsoPhdrs:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[32:], VDSOSize)
	le.PutUint64(ph[40:], VDSOSize)
	le.PutUint64(ph[48:], VDSOSize)
	ph = h[vdsoPhdrs+56:]
	le.PutUint32(ph[0:], 2) // PT_DYNAMIC
	le.PutUint32(ph[4:], 4) // R
	le.PutUint64(ph[8:], vdsoDyn)
	le.PutUint64(ph[16:], vdsoDyn)
	le.PutUint64(ph[32:], 8*16)
	le.PutUint64(ph[40:], 8*16)
	assert.Equal(t, string(h), vdsoHeaders)

	d := make([]byte, 8*16)
	for i, e := range [...][2]uint64{
		{4, vdsoHash}, {5, vdsoStrtab}, {6, vdsoSymtab}, {10, 0}, {11, 24},
		{dtVersym, vdsoVersym}, {dtVerdef, vdsoVerdef}, {0, 0},
	} {
		le.PutUint64(d[16*i:], e[0])
		le.PutUint64(d[16*i+8:], e[1])
	}
	assert.Equal(t, string(d), vdsoDynamic)

	str := "\x00" + vdsoSoname + "\x00" + vdsoVersion + "\x00"
	assert.Equal(t, str, vdsoStrings)
	soname, version := uint32(1), uint32(1+len(vdsoSoname)+1)
	v := make([]byte, 2*28)
	putVerdef(v[0:], verFlgBase, 1, ELFHash(vdsoSoname), soname, 28)
	putVerdef(v[28:], 0, 2, ELFHash(vdsoVersion), version, 0)
	assert.Equal(t, string(v), vdsoVerdefs)
}

// putVerdef writes an Elf64_Verdef (20 bytes) followed by its one
// Elf64_Verdaux (8 bytes; vda_next stays 0); next is the offset to the
// next definition.
func putVerdef(b []byte, flags, ndx uint16, hash, name, next uint32) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], 1) // vd_version
	le.PutUint16(b[2:], flags)
	le.PutUint16(b[4:], ndx)
	le.PutUint16(b[6:], 1) // vd_cnt
	le.PutUint32(b[8:], hash)
	le.PutUint32(b[12:], 20) // vd_aux: right after
	le.PutUint32(b[16:], next)
	le.PutUint32(b[20:], name) // vda_name
}
