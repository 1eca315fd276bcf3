package symbolize

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gometal-symbolize-test-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildProg builds testdata/prog for linux/amd64 with extra ldflags and
// returns the binary's path.
func buildProg(t *testing.T, name, ldflags string) string {
	t.Helper()
	out := filepath.Join(binDir, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "prog")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	return out
}

// faultLine is the line of testdata/prog/main.go marked "// FAULT".
func faultLine(t *testing.T) int {
	src, err := os.ReadFile(filepath.Join("testdata", "prog", "main.go"))
	require.NoError(t, err)
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, "// FAULT") {
			return i + 1
		}
	}
	t.Fatal("no FAULT line")
	return 0
}

// sym returns a function symbol of the ELF file at path.
func sym(t *testing.T, path, name string) elf.Symbol {
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	require.NoError(t, err)
	for _, s := range syms {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no symbol %s", name)
	return elf.Symbol{}
}

// loadInst returns the first statement address of the "// FAULT" line in
// main.fault according to the DWARF line table (an oracle independent of
// the .gopclntab the symbolizer reads) and the 16 bytes there.
func loadInst(t *testing.T, path string) (uint64, []byte) {
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	fn := sym(t, path, "main.fault")
	d, err := f.DWARF()
	require.NoError(t, err)
	r := d.Reader()
	for {
		cu, err := r.Next()
		require.NoError(t, err)
		require.NotNil(t, cu, "no compile unit for main")
		if cu.Tag != dwarf.TagCompileUnit || cu.Val(dwarf.AttrName) != "main" {
			r.SkipChildren()
			continue
		}
		lr, err := d.LineReader(cu)
		require.NoError(t, err)
		var e dwarf.LineEntry
		for lr.Next(&e) == nil {
			if e.Line == faultLine(t) && e.IsStmt && e.Address >= fn.Value && e.Address < fn.Value+fn.Size &&
				strings.HasSuffix(e.File.Name, "main.go") && e.Address != fn.Value {
				text := f.Section(".text")
				data, err := text.Data()
				require.NoError(t, err)
				off := e.Address - text.Addr
				return e.Address, data[off : off+16]
			}
		}
		t.Fatal("no line table entry for the FAULT line")
	}
}

func report(rip uint64, code []byte, stack ...uint64) string {
	var c, st []string
	for _, b := range code {
		c = append(c, fmt.Sprintf("%02x", b))
	}
	for _, w := range stack {
		st = append(st, fmt.Sprintf("%#016x", w))
	}
	return strings.Join([]string{
		"some program output",
		"[gometal] === KERNEL PANIC ===",
		"[gometal] reason: page fault in kernel",
		"[gometal] cpu: 0 vector: 14 (#PF) error: 0x0000000000000000",
		fmt.Sprintf("[gometal] rip: %#016x cs: 0x0008 rflags: 0x0000000000010046", rip),
		"[gometal] rsp: 0x0000000000c00007d0 ss: 0x0010",
		"[gometal] rax: 0x0000000000000000 rbx: 0x0000000000000001 rcx: 0x0000000000000000 rdx: 0x0000000000000000",
		"[gometal] cr2: 0x0000000000000000 cr3: 0x0000000000100000",
		"[gometal] code: " + strings.Join(c, " "),
		"[gometal] stack: " + strings.Join(st, " "),
		"[gometal] === END KERNEL PANIC ===",
		"",
	}, "\r\n")
}

func TestSymbolize(t *testing.T) {
	bin := buildProg(t, "prog", "")
	rip, code := loadInst(t, bin)
	mainMain := sym(t, bin, "main.main")
	ret := mainMain.Value + 0x10

	var out bytes.Buffer
	err := Symbolize(bin, strings.NewReader(report(rip, code, 0x1234, ret, 0)), &out)
	require.NoError(t, err)
	s := out.String()
	t.Log("\n" + s)

	fault := sym(t, bin, "main.fault")
	src, err := filepath.Abs(filepath.Join("testdata", "prog", "main.go"))
	require.NoError(t, err)
	assert.NotZero(t, rip-fault.Value, "the fault is inside the function")
	assert.Contains(t, s, fmt.Sprintf("rip %#016x  main.fault+%#x %s:%d\n", rip, rip-fault.Value, src, faultLine(t)))
	assert.Contains(t, s, "kernel panic: page fault in kernel")
	assert.Contains(t, s, "vector 14 (#PF)")
	assert.Contains(t, s, "disassembly of main.fault around rip")
	assert.Contains(t, s, "(these match the image)")
	assert.NotContains(t, s, "0x1234 ")

	// The => line is the faulting load, with its source line.
	var marked []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "=>") {
			marked = append(marked, l)
		}
	}
	require.Len(t, marked, 2, "one => in the disassembly, one in the code bytes")
	for _, l := range marked {
		assert.Contains(t, l, fmt.Sprintf("%#x", rip))
		assert.Contains(t, l, fmt.Sprintf("main.go:%d", faultLine(t)))
	}

	// The stack word pointing into main.main is resolved.
	assert.Contains(t, s, fmt.Sprintf("rsp+0x08  %#016x  main.main+0x10 ", ret))
}

func TestSymbolizeStripped(t *testing.T) {
	full := buildProg(t, "prog", "")
	rip, code := loadInst(t, full)
	stripped := buildProg(t, "prog-stripped", "-s -w")
	img, err := os.ReadFile(stripped)
	require.NoError(t, err)
	im, err := NewImage(img)
	require.NoError(t, err)
	assert.Empty(t, im.syms, "-s leaves no symbol table")
	fr, ok := im.Lookup(rip)
	require.True(t, ok)
	assert.Equal(t, "main.fault", fr.Func)
	assert.Equal(t, faultLine(t), fr.Line)

	var out bytes.Buffer
	require.NoError(t, SymbolizeELF(img, strings.NewReader(report(rip, code)), &out))
	assert.Contains(t, out.String(), "=> ")
}

func TestSymbolizeOddReports(t *testing.T) {
	bin := buildProg(t, "prog", "")
	rip, code := loadInst(t, bin)
	code[3], code[4] = 0x90, 0x90 // differ from the image

	// No prefix, cut off, unmapped code bytes, a rip mid-instruction.
	var out bytes.Buffer
	log := "=== KERNEL PANIC ===\nreason: bad trap\nrip: " + fmt.Sprintf("%#x", rip+1) +
		"\ncode: " + fmt.Sprintf("%02x %02x %02x %02x %02x", code[0], code[1], code[2], code[3], code[4]) + " ?? ?? ??\n"
	require.NoError(t, Symbolize(bin, strings.NewReader(log), &out))
	s := out.String()
	assert.Contains(t, s, "cut off")
	assert.Contains(t, s, "not on an instruction boundary")
	assert.Contains(t, s, "DIFFER")

	// rip outside the text.
	out.Reset()
	require.NoError(t, Symbolize(bin, strings.NewReader(report(0x10, nil)), &out))
	assert.Contains(t, out.String(), "not in the image's text")

	// No report at all.
	err := Symbolize(bin, strings.NewReader("hello\nworld\n"), &out)
	assert.ErrorIs(t, err, ErrNoReport)

	// Not an image.
	err = SymbolizeELF([]byte("not an elf"), strings.NewReader(report(rip, nil)), &out)
	assert.Error(t, err)
	err = Symbolize(filepath.Join(t.TempDir(), "missing"), strings.NewReader(""), &out)
	assert.Error(t, err)
}
