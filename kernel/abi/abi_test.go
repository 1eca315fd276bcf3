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
	img := StackImage{Argv0: []byte("/init"), Line: &c}
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
}

func TestBuildStackTooSmall(t *testing.T) {
	var c Cmdline
	c.Parse([]byte("A=1 -- x"))
	mem := make([]byte, 64)
	top := uintptr(unsafe.Pointer(&mem[0])) + 64
	assert.Zero(t, Build(mem, top, &StackImage{Argv0: []byte("/init"), Line: &c}))
}

func TestCmdlineDefaultEnv(t *testing.T) {
	var c Cmdline
	c.Parse([]byte("HOME=/root -- x"))
	assert.True(t, c.DefaultEnv("HOME=/"))
	assert.True(t, c.DefaultEnv("PATH=/bin"))
	assert.Equal(t, []string{"HOME=/root", "PATH=/bin"}, words(&c, c.Env[:c.NEnv]))
	assert.Equal(t, []string{"x"}, words(&c, c.Args[:c.NArgs]), "arguments are untouched")
}
