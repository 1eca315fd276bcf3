package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/gometal/gometal/tools/symbolize"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGDBFlag: --gdb and --gdb=PORT reach QEMU as -S -gdb, and the
// attach command is printed; bad ports are usage errors.
func TestGDBFlag(t *testing.T) {
	img, _ := patchedProg(t)
	bin, argsFile := fakeQEMU(t, "exit 1")
	code, _, errOut := call(t, "", "run", img, "--qemu", bin, "--gdb=4321")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "gdb "+img+" -ex 'target remote :4321'")
	args := strings.Split(string(mustRead(t, argsFile)), "\n")
	assert.Contains(t, args, "-S")
	assert.Contains(t, args, "tcp:127.0.0.1:4321")

	code, _, errOut = call(t, "", "run", img, "--qemu", bin, "--gdb")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "-ex 'target remote :1234'")

	for _, bad := range []string{"--gdb=0", "--gdb=65536", "--gdb=x"} {
		code, _, errOut = call(t, "", "run", img, "--qemu", bin, bad)
		assert.Equal(t, exitUsage, code, bad)
		assert.Contains(t, errOut, "a port from 1 to 65535", bad)
	}
	assert.Equal(t, `gdb 'my image.elf' -ex 'target remote :1'`, gdbCommand("my image.elf", 1))
}

// TestRunGDB boots examples/hello with --gdb and drives gdb -batch
// against it, as docs/debugging.md shows: a breakpoint on main.main, a
// backtrace, a runtime variable; when gdb detaches the program runs to
// its end.
func TestRunGDB(t *testing.T) {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb is not installed (apt-get install -y gdb): skipping the --gdb session test")
	}
	if _, err := exec.LookPath(qemu.DefaultQEMU); err != nil {
		t.Skip("QEMU is not installed")
	}
	img := filepath.Join(t.TempDir(), "hello.elf")
	code, _, errOut := call(t, "", "build", "../../examples/hello", "-o", img)
	require.Equal(t, exitOK, code, errOut)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		code := gometal(ctx, stdio{strings.NewReader(""), &out, &errOut},
			[]string{"run", img, "--mem", "64M", fmt.Sprintf("--gdb=%d", port)})
		done <- result{code, out.String(), errOut.String()}
	}()

	// gdb retries the connection until QEMU listens (tcp auto-retry).
	cmd := exec.CommandContext(ctx, gdb, "-batch", "-nx", symbolize.DebugFile(img),
		"-ex", "set tcp connect-timeout 60",
		"-ex", fmt.Sprintf("target remote :%d", port),
		"-ex", "break main.main",
		"-ex", "continue",
		"-ex", "bt",
		"-ex", "print 'runtime.gomaxprocs'",
		"-ex", "print 'os.Args'",
		"-ex", "x/s 'os.Args'.array[0].str",
		"-ex", "info registers rip",
		// A goroutine preempted asynchronously (by sysmon or the
		// kernel's time slices) while it stands at main.main's
		// breakpoint resumes there and stops again: delete it first.
		"-ex", "delete 1",
		"-ex", "break fmt.Fprintln",
		"-ex", "continue",
		"-ex", "bt 3")
	gdbOut, err := cmd.CombinedOutput()
	t.Logf("gdb session:\n%s", gdbOut)
	require.NoError(t, err)
	assert.Contains(t, string(gdbOut), "Breakpoint 1, main.main () at ")
	assert.Contains(t, string(gdbOut), "#0  main.main () at ")
	assert.Contains(t, string(gdbOut), "$1 = 1\n", "runtime.gomaxprocs on one CPU")
	assert.Regexp(t, `\$2 = \{array = 0x[0-9a-f]+, len = 1, cap = 1\}`, string(gdbOut), "os.Args")
	assert.Contains(t, string(gdbOut), `"/init"`, "os.Args[0]")
	assert.Regexp(t, `rip +0x[0-9a-f]+ +0x[0-9a-f]+ <main\.main\+\d+>`, string(gdbOut))
	assert.Regexp(t, `Breakpoint 2, fmt\.Fprintln \(`, string(gdbOut))
	assert.Regexp(t, `#\d+ +(0x[0-9a-f]+ in )?main\.main \(\) at \S+/examples/hello/main\.go:13`, string(gdbOut), "main.main in the backtrace")

	res := <-done
	assert.Equal(t, 0, res.code, res.errOut)
	assert.Contains(t, res.out, "hello, world\n", "the program runs on once gdb detaches")
	assert.Contains(t, res.errOut, fmt.Sprintf("-ex 'target remote :%d'", port))
}
