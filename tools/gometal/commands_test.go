package main

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// patchedProg returns a bootable stand-in image and the address of main.main.
func patchedProg(t *testing.T) (string, uint64) {
	t.Helper()
	img := linkProg(t)
	require.NoError(t, image.Patch(img))
	f, err := elf.Open(img)
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.Symbols()
	require.NoError(t, err)
	for _, s := range syms {
		if s.Name == "main.main" {
			return img, s.Value
		}
	}
	t.Fatal("no main.main")
	return "", 0
}

func TestInfo(t *testing.T) {
	img := linkProg(t)
	code, out, _ := call(t, "", "info", img)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "bootable:    false")

	require.NoError(t, image.Patch(img))
	code, out, _ = call(t, "", "info", img)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "bootable:    true")
	assert.Contains(t, out, "multiboot:   offset 0x")
	assert.Regexp(t, `memory:      at least \d+M on 1 CPU, \d+M on 4 `, out)

	code, _, errOut := call(t, "", "info", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "gometal info:")
}

func panicLog(rip uint64) string {
	return fmt.Sprintf("[gometal] === KERNEL PANIC ===\r\n"+
		"[gometal] reason: general protection fault in kernel\r\n"+
		"[gometal] cpu: 1 vector: 13 (#GP) error: 0x0000000000000000\r\n"+
		"[gometal] rip: %#016x cs: 0x0008 rflags: 0x0000000000010046\r\n"+
		"[gometal] stack: %#016x 0x0000000000000000\r\n"+
		"[gometal] === END KERNEL PANIC ===\r\n", rip, rip+4)
}

func TestSymbolizeCommand(t *testing.T) {
	img, entry := patchedProg(t)
	code, out, errOut := call(t, panicLog(entry), "symbolize", img)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "main.main+0x0 ")
	assert.Contains(t, out, "=> ")

	logFile := filepath.Join(t.TempDir(), "console.log")
	require.NoError(t, os.WriteFile(logFile, []byte("boot\n"+panicLog(entry)), 0o644))
	code, out, _ = call(t, "", "symbolize", img, logFile)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "main.main+0x4 ")

	code, _, errOut = call(t, "no report here\n", "symbolize", img, "-")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "no kernel panic report")
}

// fakeQEMU writes a shell script that stands in for QEMU: it records its
// arguments in args.txt beside itself and then runs body.
func fakeQEMU(t *testing.T, body string) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	bin, argsFile = filepath.Join(dir, "qemu"), filepath.Join(dir, "args.txt")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %q\n%s\n", argsFile, body)
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin, argsFile
}

// keepModule is a stand-in QEMU's shell line that copies its -initrd file
// (which qemu.Run removes afterwards) to path.
func keepModule(path string) string {
	return fmt.Sprintf(`for a in "$@"; do [ "$prev" = -initrd ] && cp "$a" %q; prev=$a; done`, path)
}

func TestRunExitCode(t *testing.T) {
	img, _ := patchedProg(t)
	dir := t.TempDir()
	module := filepath.Join(dir, "module")
	bin, argsFile := fakeQEMU(t, keepModule(module)+"\necho hello from the guest\nexit 7")
	code, out, errOut := call(t, "", "run", img, "--qemu", bin, "--smp", "4", "--mem", "1G",
		"--env", "GOMAXPROCS=2", "--env", "Q=a \"b\"", "--", "-flag", "two words", "")
	assert.Equal(t, 3, code, errOut) // QEMU status 7 = program status 3
	assert.Contains(t, out, "hello from the guest")
	args, err := os.ReadFile(argsFile)
	require.NoError(t, err)
	lines := strings.Split(string(args), "\n")
	assert.Contains(t, lines, img)
	assert.Contains(t, lines, "1G")
	// The only kernel option is the stall report's (qemu/stall.go).
	assert.Contains(t, lines, "unknown_nmi_panic", "arguments travel in the module, not on the command line")
	want, err := qemu.EncodeArgBlock([]string{"-flag", "two words", ""}, []string{"GOMAXPROCS=2", `Q=a "b"`})
	require.NoError(t, err)
	got, err := os.ReadFile(module)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	bin, argsFile = fakeQEMU(t, "exit 1")
	code, _, _ = call(t, "", "run", "--qemu", bin, "--append", "raw line", img)
	assert.Equal(t, 0, code)
	args, err = os.ReadFile(argsFile)
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(args), "\n"), "unknown_nmi_panic raw line")
	assert.NotContains(t, strings.Split(string(args), "\n"), "-initrd", "no module without arguments")
}

// TestRunBIOS: --bios reaches QEMU's -bios; seabios means none (QEMU's
// default firmware); a fake QEMU without a data directory gets none.
func TestRunBIOS(t *testing.T) {
	img, _ := patchedProg(t)
	for _, c := range []struct {
		flags []string
		want  []string // the arguments after -bios, nil: no -bios
	}{
		{nil, nil},
		{[]string{"--bios", "seabios"}, nil},
		{[]string{"--bios", "/fw/OVMF.fd"}, []string{"/fw/OVMF.fd"}},
		{[]string{"--bios", "qboot.rom", "--machine", "pc"}, []string{"qboot.rom"}},
	} {
		bin, argsFile := fakeQEMU(t, "exit 1")
		code, _, errOut := call(t, "", append([]string{"run", img, "--qemu", bin}, c.flags...)...)
		assert.Equal(t, 0, code, errOut)
		args, err := os.ReadFile(argsFile)
		require.NoError(t, err)
		var got []string
		lines := strings.Split(string(args), "\n")
		for i, a := range lines {
			if a == "-bios" && i+1 < len(lines) {
				got = append(got, lines[i+1])
			}
		}
		assert.Equal(t, c.want, got, "%q", c.flags)
	}
}

func TestRunPanic(t *testing.T) {
	img, entry := patchedProg(t)
	logFile := filepath.Join(t.TempDir(), "panic.log")
	require.NoError(t, os.WriteFile(logFile, []byte(panicLog(entry+2)), 0o644))
	bin, _ := fakeQEMU(t, fmt.Sprintf("cat %q\nexit 255", logFile))
	code, out, errOut := call(t, "", "run", img, "--qemu", bin)
	assert.Equal(t, exitPanic, code)
	assert.NotContains(t, out, "KERNEL PANIC", "the kernel log goes to stderr")
	assert.Contains(t, errOut, "[gometal] === KERNEL PANIC ===", "the kernel log goes to stderr")
	assert.Contains(t, errOut, "kernel panic: general protection fault in kernel")
	assert.Contains(t, errOut, "main.main+0x2 ")
	assert.Contains(t, errOut, "=> ")
}

func TestRunTimeout(t *testing.T) {
	img, _ := patchedProg(t)
	bin, _ := fakeQEMU(t, "exec sleep 30")
	code, _, errOut := call(t, "", "run", img, "--qemu", bin, "--timeout", "300ms")
	assert.Equal(t, exitTimeout, code)
	assert.Contains(t, errOut, "timeout")
}

func TestRunRefusesUnpatched(t *testing.T) {
	img := linkProg(t)
	bin, _ := fakeQEMU(t, "exit 1")
	code, _, errOut := call(t, "", "run", img, "--qemu", bin)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "not a patched gometal image")

	code, _, _ = call(t, "", "run", filepath.Join(t.TempDir(), "missing"), "--qemu", bin)
	assert.Equal(t, exitFailure, code)
}

func TestBuildFails(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := call(t, "", "build", "-C", dir, "./nosuchpkg", "-o", filepath.Join(dir, "x.elf"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "gometal build:")
}

func TestTrapcheckCommand(t *testing.T) {
	// A program without the gometal kernel has none of its trap entries.
	code, _, errOut := call(t, "", "trapcheck", linkProg(t))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "boot.entry32: no such function")

	code, _, errOut = call(t, "", "trapcheck", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errOut, "gometal trapcheck:")
}
