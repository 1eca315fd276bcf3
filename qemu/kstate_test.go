package qemu_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/symbolize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelStateEFAULT boots qemu/testdata/kstate, which hands read,
// readv, write, writev, clock_gettime (the lock-free path and the locked
// one), pipe2, getrandom, uname, getsockname, futex, sendto, bind and
// openat pointers into kernel variables of three packages (the IDT, the
// kernel-state table itself, the umask, the boot arguments, boot.Magic),
// iovecs that point there, ranges holding one byte of a variable at
// either end, and the Unix-socket table the kernel took from frames.
// Every call must fail with EFAULT (but write(2) from the vDSO page, which
// the program may read, works), the variables must be unchanged and
// the kernel must run goroutines, timers, the GC and files afterwards.
// These variables lie on pages the program may write (docs/architecture.md,
// "Memory"); before the kernel-state table, read(2) and friends wrote
// into them.
//
// The same program built for the host does not link the kernel, so there
// the "kernel" variables are the program's own: every call must work
// (none gets EFAULT) and the variables change, which shows that the calls
// are valid and that the check on them can fail. The calls on the
// program's own globals and heap must print the same on both.
func TestKernelStateEFAULT(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "kstate.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/kstate", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	host := filepath.Join(dir, "kstate-host")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", host, "./qemu/testdata/kstate")
	build.Dir = mustRoot(t)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	hostOut, err := exec.CommandContext(t.Context(), host).Output()
	require.NoError(t, err, "host run")

	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 2, Timeout: 120 * time.Second})
	if res != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("kernel log:\n%s\nconsole:\n%s", res.KernelLog, res.Console)
			}
		})
	}
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode)

	require.Contains(t, string(res.Output), "linked kernel variables: yes\n", "the program's //go:linkname names must be the kernel's")
	require.Contains(t, string(hostOut), "linked kernel variables: host\n")
	guest, onHost := splitKstate(string(res.Output)), splitKstate(string(hostOut))
	require.NotEmpty(t, guest.kernel, "no calls on kernel variables ran")
	for call, r := range guest.kernel {
		assert.Equal(t, "EFAULT", r, "guest: %s", call)
	}
	for call, r := range onHost.kernel {
		assert.NotEqual(t, "EFAULT", r, "host: %s", call)
		assert.Contains(t, guest.kernel, call, "the guest did not run %s", call)
	}
	assert.Equal(t, "EFAULT", guest.kernel["kernel frames read"], "frame memory at its direct-map address")
	assert.Equal(t, "EFAULT", guest.kernel["kernel vdsoPage read"], "the vDSO page is not writable")
	assert.Contains(t, string(res.Output), "vdso write: ok\n", "the vDSO page is readable")
	assert.Equal(t, onHost.own, guest.own, "calls on the program's own memory differ from the host's")
	assert.Contains(t, string(res.Output), "kernel variables: unchanged\n")
	assert.Contains(t, string(hostOut), "kernel variables: changed\n")
	assert.Contains(t, string(res.Output), "afterwards: 299995 <nil>\n")
	assert.Contains(t, string(hostOut), "afterwards: 299995 <nil>\n")
}

// kstateOutput is the kstate program's output: the result of each call on
// kernel variables, and the lines about the program's own memory.
type kstateOutput struct {
	kernel map[string]string // "kernel idt read" -> "EFAULT"
	own    []string
}

// splitKstate parses the kstate program's output.
func splitKstate(out string) kstateOutput {
	o := kstateOutput{kernel: map[string]string{}}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "kernel variables:"):
		case strings.HasPrefix(l, "kernel "):
			call, r, _ := strings.Cut(l, ": ")
			o.kernel[call] = r
		case strings.HasPrefix(l, "own "):
			o.own = append(o.own, l)
		}
	}
	return o
}

// TestKernelStateTableMissing boots an image whose kernel-state table is
// empty, as an image the image build did not fill would be: without the
// table the kernel cannot tell its variables from the program's, so it
// fails closed, with a kernel panic report that says why, before the
// program runs.
func TestKernelStateTableMissing(t *testing.T) {
	img := filepath.Join(t.TempDir(), "hello.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	off := fileOffset(t, img, data, image.KernelStateSymbol)
	clear(data[off+8 : off+24]) // the count and the check word
	require.NoError(t, os.WriteFile(img, data, 0o755))

	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Timeout: 60 * time.Second})
	require.ErrorIs(t, err, qemu.ErrKernelPanic)
	require.NotNil(t, res)
	assert.Contains(t, string(res.KernelLog), "kernel-state table: the image build did not fill it")
	assert.Contains(t, res.PanicReport, "no kernel-state table")
	assert.NotContains(t, string(res.Output), "hello, world")
}

// fileOffset returns where the variable sym of the image at path (data)
// lies in the file, from the symbol table of its debug file.
func fileOffset(t *testing.T, path string, data []byte, sym string) int {
	dbg, err := elf.Open(symbolize.DebugFile(path))
	require.NoError(t, err)
	defer dbg.Close()
	syms, err := dbg.Symbols()
	require.NoError(t, err)
	i := slices.IndexFunc(syms, func(s elf.Symbol) bool { return s.Name == sym })
	require.GreaterOrEqual(t, i, 0, "no %s", sym)
	f, err := elf.NewFile(bytes.NewReader(data))
	require.NoError(t, err)
	for _, p := range f.Progs {
		if a := syms[i].Value; p.Type == elf.PT_LOAD && a >= p.Vaddr && a+syms[i].Size <= p.Vaddr+p.Filesz {
			return int(p.Off + a - p.Vaddr)
		}
	}
	t.Fatalf("%s is not in the file", sym)
	return 0
}
