package qemu_test

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/symbolize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash tests crash the real kernel: the fault-injection option
// kfault=1 (kernel/kfault.go) makes the kernel read an unmapped address in
// the program's first write system call. The page fault in ring 0 must
// come out as a complete panic report that the symbolizer resolves.

const (
	kfaultAppend = "kfault=1"
	kfaultAddr   = 0xffffdeadbeef0000 // kernel/kfault.go's kfaultAddr
	kfaultFunc   = "github.com/gometal/gometal/kernel.injectKernelFault"
	gometalPanic = 125 // gometal run's status after a kernel panic (tools/gometal)
)

func TestKernelCrash(t *testing.T) {
	root := mustRoot(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "hello.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: root})
	require.NoError(t, err)
	elf, err := symbolize.ReadDebug(img) // IMAGE.debug, with the symbol table
	require.NoError(t, err)
	im, err := symbolize.NewImage(elf)
	require.NoError(t, err)

	t.Run("report", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Mem: "64M", Append: kfaultAppend, Timeout: 60 * time.Second})
		require.ErrorIs(t, err, qemu.ErrKernelPanic)
		require.NotNil(t, res)
		defer func() {
			if t.Failed() {
				t.Logf("console:\n%s", res.Console)
			}
		}()
		assert.True(t, res.Panic)
		assert.Equal(t, -1, res.ExitCode)
		assert.Empty(t, string(res.Output), "the first write faulted: nothing may reach the console")
		checkCrashReport(t, im, res.PanicReport)

		var out bytes.Buffer
		require.NoError(t, im.Symbolize(bytes.NewReader(res.Console), &out))
		checkSymbolized(t, out.String())
	})

	// At -smp 4 the panicking CPU first stops the other three with an NMI
	// each, so that nothing they print can follow or interleave with the
	// report; the report itself is unchanged.
	t.Run("smp", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Mem: "64M", SMP: 4, Append: kfaultAppend, Timeout: 60 * time.Second})
		require.ErrorIs(t, err, qemu.ErrKernelPanic)
		require.NotNil(t, res)
		defer func() {
			if t.Failed() {
				t.Logf("console:\n%s", res.Console)
			}
		}()
		assert.Regexp(t, `kernel panic on cpu \d: 3 of 3 other CPUs stopped\n.*=== KERNEL PANIC ===`, string(res.Console))
		checkCrashReport(t, im, res.PanicReport)
	})

	t.Run("gometal-run", func(t *testing.T) {
		bin := filepath.Join(dir, "gometal")
		build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./tools/gometal")
		build.Dir = root
		msg, err := build.CombinedOutput()
		require.NoError(t, err, "%s", msg)

		var stdout, stderr bytes.Buffer
		run := exec.CommandContext(t.Context(), bin, "run", img, "--mem", "64M", "--timeout", "60s", "--append", kfaultAppend)
		run.Stdout, run.Stderr = &stdout, &stderr
		err = run.Run()
		var exit *exec.ExitError
		require.True(t, errors.As(err, &exit), "gometal run: %v\n%s", err, stderr.String())
		assert.Equal(t, gometalPanic, exit.ExitCode(), "stderr:\n%s", stderr.String())
		assert.NotContains(t, stdout.String(), "KERNEL PANIC", "the kernel log goes to standard error")
		assert.Contains(t, stderr.String(), "[gometal] === KERNEL PANIC ===\n", "the kernel log goes to standard error")
		assert.Contains(t, stderr.String(), "[gometal] exit status panic\ngometal: kernel panic\n", "the symbolized report follows the log")
		checkSymbolized(t, stderr.String())
	})
}

// checkCrashReport checks the raw report: the trap, every register, the
// fault address, the faulting bytes and the stack.
func checkCrashReport(t *testing.T, im *symbolize.Image, report string) {
	reports, err := symbolize.ParseReports(strings.NewReader(report))
	require.NoError(t, err)
	require.Len(t, reports, 1, "report:\n%s", report)
	r := reports[0]
	assert.Equal(t, "#PF page fault", r.Reason)
	assert.Equal(t, uint64(14), r.Regs["vector"])
	assert.Equal(t, "#PF page fault", r.Notes["vector"])
	if assert.Contains(t, r.Regs, "error") {
		assert.Zero(t, r.Regs["error"], "a supervisor read of a page not present")
	}
	assert.Equal(t, uint64(kfaultAddr), r.Regs["cr2"], "cr2 is the injected address")
	for _, reg := range []string{"rip", "cs", "rflags", "rsp", "ss", "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
		"rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cr3", "cpu"} {
		assert.Contains(t, r.Regs, reg)
	}
	assert.Zero(t, r.Regs["cs"]&3, "the fault is in ring 0")

	rip := r.Regs["rip"]
	fr, ok := im.Lookup(rip)
	assert.True(t, ok, "rip %#x is not in the kernel's text", rip)
	assert.Equal(t, kfaultFunc, fr.Func)

	require.Len(t, r.Code, 16, "faulting bytes")
	for i, known := range r.Known {
		assert.True(t, known, "code byte %d at rip unreadable", i)
	}
	assert.Len(t, r.Stack, 16, "two stack lines of 8 words")
}

// checkSymbolized checks the symbolizer's account of the crash: the
// faulting function, the disassembly around rip and the caller on the stack.
func checkSymbolized(t *testing.T, s string) {
	fn := regexp.QuoteMeta(kfaultFunc)
	assert.Contains(t, s, fmt.Sprintf("cr2 %#x", uint64(kfaultAddr)))
	assert.Regexp(t, `(?m)^rip 0x[0-9a-f]+  `+fn+`\+0x[0-9a-f]+ \S*kernel/kfault\.go:\d+$`, s)
	assert.Contains(t, s, "disassembly of "+kfaultFunc+" around rip:")
	assert.Regexp(t, `(?m)^  => 0x[0-9a-f]+  (?:[0-9a-f]{2} )+\s+kfault\.go:\d+\s+MOV`, s, "the load at rip")
	assert.Contains(t, s, "(these match the image)")
	assert.Regexp(t, `(?m)^  rsp\+0x[0-9a-f]+\s+0x[0-9a-f]+\s+github\.com/gometal/gometal/kernel\.doSyscall\+`, s,
		"the caller's return address on the stack")
}
