package boot_test

import (
	"debug/elf"
	"fmt"
	"github.com/gometal/gometal/tools/symbolize"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// entry32 is amd64 code run in 32-bit protected mode (entry_amd64.s): every
// instruction must decode the same in both modes, except the two LEALs
// that load symbol addresses, whose RIP-relative displacement becomes an
// absolute one. The Go linker drops entry32 from a test binary, so the
// test builds an image and reads entry32 from it.

const pkg = "github.com/gometal/gometal/boot."

// imageSymbols builds examples/hello and returns its ELF header, its text
// section and the named symbols (an assembly function's ABI0 symbol, where
// the linker added an ABIInternal wrapper under the plain name).
func imageSymbols(t *testing.T, names ...string) (*elf.File, *elf.Section, []byte, map[string]elf.Symbol) {
	img := filepath.Join(t.TempDir(), "hello.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: ".."})
	require.NoError(t, err)
	f, err := elf.Open(symbolize.DebugFile(img)) // the symbol table is beside the image
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	text := f.Section(".text")
	require.NotNil(t, text)
	data, err := text.Data()
	require.NoError(t, err)
	all, err := f.Symbols()
	require.NoError(t, err)
	syms := map[string]elf.Symbol{}
	for _, s := range all {
		for _, n := range names {
			if s.Name == pkg+n+".abi0" || s.Name == pkg+n && syms[n].Name == "" {
				syms[n] = s
			}
		}
	}
	for _, n := range names {
		require.Contains(t, syms, n, "symbol %s", pkg+n)
	}
	return f, text, data, syms
}

// to32 names a 64-bit general register by its 32-bit half.
func to32(r x86asm.Reg) x86asm.Reg {
	if r >= x86asm.RAX && r <= x86asm.R15 {
		return r - x86asm.RAX + x86asm.EAX
	}
	return r
}

// sameIn32 reports whether the 64-bit decoding a and the 32-bit decoding
// b are the same instruction, up to the width of the registers.
func sameIn32(a, b x86asm.Inst) bool {
	if a.Op != b.Op || a.Len != b.Len {
		return false
	}
	for i := range a.Args {
		switch x := a.Args[i].(type) {
		case x86asm.Reg:
			a.Args[i] = to32(x)
		case x86asm.Mem:
			x.Base, x.Index = to32(x.Base), to32(x.Index)
			a.Args[i] = x
		}
	}
	return a.Args == b.Args
}

func TestEntry32Decodes(t *testing.T) {
	f, text, data, syms := imageSymbols(t, "entry32", "entry64", "scratch")
	e := syms["entry32"]
	require.Equal(t, f.Entry, e.Value, "entry32 is the image's entry point")
	require.NotZero(t, e.Size)
	code := data[e.Value-text.Addr : e.Value-text.Addr+e.Size]

	var lines []string
	var callEnd uint64   // address after "call next instruction": L
	var leaEnds []uint64 // end of each LEAL with an absolute operand
	var leaDisps []int64
	pc := e.Value
	for len(code) > 0 {
		in32, err := x86asm.Decode(code, 32)
		require.NoError(t, err, "32-bit decode at %#x", pc)
		in64, err := x86asm.Decode(code, 64)
		require.NoError(t, err, "64-bit decode at %#x", pc)
		line := strings.ToLower(x86asm.IntelSyntax(in32, pc, nil))
		lines = append(lines, line)
		end := pc + uint64(in32.Len)
		if m, ok := in64.Args[1].(x86asm.Mem); in64.Op == x86asm.LEA && ok && m.Base == x86asm.RIP {
			// The LEAL trick: "lea r32, [disp32]" in 32-bit mode.
			m32 := in32.Args[1].(x86asm.Mem)
			assert.Equal(t, x86asm.Mem{Disp: m.Disp}, m32, "%s: absolute in 32-bit mode", line)
			leaEnds, leaDisps = append(leaEnds, end), append(leaDisps, m.Disp)
		} else {
			assert.True(t, sameIn32(in64, in32), "at %#x: 64-bit %q is %q in 32-bit mode",
				pc, x86asm.IntelSyntax(in64, pc, nil), line)
		}
		if in32.Op == x86asm.CALL && callEnd == 0 {
			callEnd = end
		}
		code = code[in32.Len:]
		pc = end
		if in32.Op == x86asm.LRET {
			break
		}
	}
	defer func() {
		if t.Failed() {
			t.Logf("entry32 in 32-bit mode:\n%s", strings.Join(lines, "\n"))
		}
	}()
	assert.Empty(t, code, "bytes after the far return into long mode")
	assert.Equal(t, "cli", lines[0])

	// The two LEALs load the distance from their end to scratch and
	// entry64; the code adds L and the end's offset from L.
	require.Len(t, leaEnds, 2, "RIP-relative LEALs")
	require.NotZero(t, callEnd, "call to find out where the code runs")
	for i, sym := range []string{"scratch", "entry64"} {
		assert.Equal(t, syms[sym].Value, uint64(int64(leaEnds[i])+leaDisps[i]), "LEAL of %s", sym)
	}
	joined := strings.Join(lines, "\n")
	assert.Contains(t, joined, fmt.Sprintf("add ebx, %#x", leaEnds[0]-callEnd), "offset of the first LEAL's end")
	assert.Contains(t, joined, fmt.Sprintf("add ecx, %#x", leaEnds[1]-callEnd), "offset of the second LEAL's end")

	// The switch to long mode, in order, ending in the far return.
	last := -1
	for _, want := range []string{"lgdt", "mov cr4, eax", "mov cr3, ebx", "wrmsr", "mov cr0, eax", "push 0x8", "push eax"} {
		i := strings.Index(joined, want)
		if assert.GreaterOrEqual(t, i, 0, "%q missing", want) {
			assert.Greater(t, i, last, "%q out of order", want)
			last = i
		}
	}
	assert.Equal(t, "ret far", lines[len(lines)-1], "ends in the far return into the 64-bit code segment")
}

// TestSameIn32 checks the comparison itself on instructions that differ
// between the modes.
func TestSameIn32(t *testing.T) {
	for _, c := range []struct {
		code []byte
		same bool
	}{
		{[]byte{0x89, 0xc3}, true},                    // mov ebx, eax
		{[]byte{0x48, 0x89, 0xc3}, false},             // REX.W: mov rbx, rax; in 32-bit mode dec eax first
		{[]byte{0x8d, 0x05, 1, 0, 0, 0}, false},       // lea eax, [rip+1]; [1] in 32-bit mode
		{[]byte{0x0f, 0x22, 0xe0}, true},              // mov cr4, rax / eax
		{[]byte{0x89, 0x93, 0x30, 0x30, 0, 0}, true},  // mov [rbx+0x3030], edx
		{[]byte{0x41, 0x89, 0x93, 0x30, 0, 0}, false}, // REX.B
	} {
		in64, err := x86asm.Decode(c.code, 64)
		require.NoError(t, err)
		in32, err := x86asm.Decode(c.code, 32)
		require.NoError(t, err)
		assert.Equal(t, c.same, sameIn32(in64, in32), "% x", c.code)
	}
}
