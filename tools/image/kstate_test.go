package image

import (
	"bytes"
	"debug/elf"
	"os"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/tools/symbolize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSymbolPackage(t *testing.T) {
	for name, want := range map[string]string{
		"github.com/gometal/gometal/kernel.threads":         "github.com/gometal/gometal/kernel",
		"github.com/gometal/gometal/kernel/mm.x":            "github.com/gometal/gometal/kernel/mm",
		"github.com/gometal/gometal/kernel/kgo..inittask":   "github.com/gometal/gometal/kernel/kgo",
		"github.com/gometal/gometal/kernel.f[go.shape.int]": "github.com/gometal/gometal/kernel",
		"gvisor.dev/gvisor/pkg/tcpip/stack.x":               "gvisor.dev/gvisor/pkg/tcpip/stack",
		"runtime.m0":                                        "runtime",
		"main.buf":                                          "main",
		"go:buildinfo":                                      "",
	} {
		assert.Equal(t, want, symbolPackage(name), name)
	}
}

func TestIsKernelStatePackage(t *testing.T) {
	for _, name := range []string{
		KernelPackage + ".idt", KernelPackage + "/mm.x", KernelPackage + "/fs.embeddedArchive",
		ModulePath + "/boot.Magic", ModulePath + "/drivers/acpi.x", ModulePath + "/sched.x",
		ModulePath + "/drivers/fbcon.glyphs", KernelPackage + "/rtnl.zeros",
	} {
		assert.True(t, isKernelState(name), name)
	}
	for _, name := range []string{
		KernelPackage + "/ring3/kgo.pciBus", NetPackage + ".stack", NetPackage + "/sub.x",
		KernelPackage + "/ring3/virtio.x", KernelPackage + "/ring3/fbtext.x",
		ModulePath + "/kernelx.y", ModulePath + "/examples/hello.x", ModulePath + "/tools/image.x",
		"main.buf", "runtime.m0", "gvisor.dev/gvisor/pkg/tcpip.x",
	} {
		assert.False(t, isKernelState(name), name)
	}
}

func TestKernelStateRanges(t *testing.T) {
	k := KernelPackage + "."
	syms := []dataSymbol{
		{k + "d", 0x3000, 0x10},
		{k + "a", 0x1000, 0x10},
		{k + "b", 0x1010, 0x08},   // touches a: merged
		{k + "c", 0x1004, 0x04},   // inside a: merged
		{k + "gap", 0x1019, 0x07}, // one byte after b: a separate range
		{"main.x", 0x1020, 0x10},
		{k + "e", 0x1030, 0x10}, // after a program variable
		{k + "zero", 0x1040, 0}, // no bytes: ignored
		{NetPackage + ".n", 0x1040, 0x10},
		{k + "f", 0x1050, 0x10},
		{k + "g", 0x2ff8, 0x10}, // overlaps d: merged
	}
	assert.Equal(t, []mm.StateRange{
		{Start: 0x1000, End: 0x1018}, {Start: 0x1019, End: 0x1020}, {Start: 0x1030, End: 0x1040},
		{Start: 0x1050, End: 0x1060}, {Start: 0x2ff8, End: 0x3010},
	}, kernelStateRanges(syms))
	assert.Empty(t, kernelStateRanges(nil))
	assert.Empty(t, kernelStateRanges([]dataSymbol{{"main.x", 0x1000, 8}}))
}

// decodeKernelState reads the table written into b as the kernel sees it.
func decodeKernelState(t *testing.T, b []byte) *mm.StateTable {
	require.Len(t, b, int(unsafe.Sizeof(mm.StateTable{})))
	tab := new(mm.StateTable)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(tab)), len(b)), b)
	return tab
}

func TestPutKernelStateRoundTrip(t *testing.T) {
	b := make([]byte, unsafe.Sizeof(mm.StateTable{}))
	le.PutUint64(b, mm.StateMagic)
	for i := 8; i < len(b); i++ {
		b[i] = 0xee // a table written before: every old range goes
	}
	rs := []mm.StateRange{{Start: 0x1000, End: 0x1018}, {Start: 0x2000, End: 0x2001}}
	putKernelState(b, rs)
	tab := decodeKernelState(t, b)
	require.Equal(t, "", tab.Problem(0x1000, 0x3000))
	assert.Equal(t, rs, tab.Ranges[:tab.N])
	assert.Equal(t, mm.StateRange{}, tab.Ranges[2])
	assert.True(t, tab.Overlaps(0x2000, 0x2001))
	assert.False(t, tab.Overlaps(0x1018, 0x2000))
}

// TestWriteKernelStateErrors: an image without the kernel's variable (a
// stand-in) or without a symbol table fails the build, never silently.
func TestWriteKernelStateErrors(t *testing.T) {
	err := WriteKernelState(writeELF(t, linkDirect(t, "")))
	assert.ErrorContains(t, err, "no "+KernelStateSymbol)
	err = WriteKernelState(writeELF(t, linkDirect(t, ldflagsFor(stubEntry)+" -s")))
	assert.ErrorContains(t, err, "no symbol table")
}

// checkKernelState checks the table the image build wrote into the image
// at path (built with the real kernel): valid as the kernel checks it at
// boot, covering itself and kernel variables of several packages, and
// none of the program's, the runtime's or the ring-3 kernel goroutines'.
func checkKernelState(t *testing.T, path string) {
	t.Helper()
	img, err := os.ReadFile(path)
	require.NoError(t, err)
	off, err := kernelStateOffset(path, img)
	require.NoError(t, err)
	tab := decodeKernelState(t, img[off:off+int(unsafe.Sizeof(mm.StateTable{}))])
	f, err := elf.NewFile(bytes.NewReader(debugOrImage(t, path)))
	require.NoError(t, err)
	syms, err := dataSymbols(f)
	require.NoError(t, err)
	var lo, hi uint64 = 1 << 63, 0
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			lo, hi = min(lo, p.Vaddr), max(hi, p.Vaddr+p.Memsz)
		}
	}
	require.Equal(t, "", tab.Problem(lo, hi))
	seen := map[string]bool{}
	for _, s := range syms {
		if s.size == 0 {
			continue
		}
		covered := tab.Overlaps(s.addr, s.addr+s.size)
		assert.Equal(t, isKernelState(s.name), covered, "%s", s.name)
		if covered {
			assert.True(t, wholly(tab, s.addr, s.addr+s.size), "%s partly covered", s.name)
			seen[symbolPackage(s.name)] = true
		}
	}
	for _, p := range []string{KernelPackage, ModulePath + "/boot", KernelPackage + "/fs"} {
		assert.True(t, seen[p], "no variable of %s in the table", p)
	}
	self := symbolValue(t, syms, KernelStateSymbol)
	assert.True(t, wholly(tab, self, self+uint64(unsafe.Sizeof(mm.StateTable{}))), "the table covers itself")
}

// wholly reports whether one range of tab holds all of [start, end).
func wholly(tab *mm.StateTable, start, end uint64) bool {
	for _, r := range tab.Ranges[:tab.N] {
		if r.Start <= start && end <= r.End {
			return true
		}
	}
	return false
}

// debugOrImage returns the ELF with the symbol table of the image at path.
func debugOrImage(t *testing.T, path string) []byte {
	b, err := os.ReadFile(symbolize.DebugFile(path))
	require.NoError(t, err)
	return b
}

// symbolValue returns the address of name among syms.
func symbolValue(t *testing.T, syms []dataSymbol, name string) uint64 {
	for _, s := range syms {
		if s.name == name {
			return s.addr
		}
	}
	t.Fatalf("no %s", name)
	return 0
}
