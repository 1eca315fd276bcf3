package qemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const report = "[gometal] === KERNEL PANIC ===\n" +
	"[gometal] reason: page fault in kernel\n" +
	"[gometal] cpu: 0 vector: 14 (#PF) error: 0x0000000000000002\n" +
	"[gometal] === END KERNEL PANIC ===\n"

const reportText = "reason: page fault in kernel\ncpu: 0 vector: 14 (#PF) error: 0x0000000000000002\n"

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name      string
		spec      fakeSpec
		code      int
		err       error // nil: Run must succeed
		isPanic   bool
		report    string
		errSubstr string
	}{
		{name: "exit 0", spec: fakeSpec{Status: 1}, code: 0},
		{name: "exit 1", spec: fakeSpec{Status: 3}, code: 1},
		{name: "exit 3", spec: fakeSpec{Status: 7}, code: 3},
		{name: "exit 126", spec: fakeSpec{Status: 253}, code: 126},
		{
			name: "exit 131 from the status record", code: 131,
			spec: fakeSpec{Status: 253, Console: "[gometal] exit status 131 does not fit the debug-exit protocol: reporting 126\n[gometal] exit status 131\n"},
		},
		{
			name: "exit 126 with its record", code: 126,
			spec: fakeSpec{Status: 253, Console: "[gometal] exit status 126\n"},
		},
		{
			name: "a record below 126 does not override", code: 126,
			spec: fakeSpec{Status: 253, Console: "[gometal] exit status 3\n"},
		},
		{
			name: "exit 0 with a QEMU warning",
			spec: fakeSpec{Status: 1, Stderr: "qemu-system-x86_64: warning: TCG doesn't support requested feature\n"},
			code: 0,
		},
		{
			name: "kernel panic", spec: fakeSpec{Status: 255, Console: "hi\n" + report},
			code: -1, err: qemu.ErrKernelPanic, isPanic: true, report: reportText, errSubstr: "page fault in kernel",
		},
		{
			name: "kernel panic without report", spec: fakeSpec{Status: 255, Console: "last words\n"},
			code: -1, err: qemu.ErrKernelPanic, isPanic: true, errSubstr: "last words",
		},
		{
			name: "panic report but exit status", spec: fakeSpec{Status: 7, Console: report},
			code: 3, err: qemu.ErrKernelPanic, isPanic: true, report: reportText,
		},
		{
			name: "panic report and reset", spec: fakeSpec{Status: 0, Console: report},
			code: -1, err: qemu.ErrNoStatus, isPanic: true, report: reportText,
		},
		{
			name: "reset", spec: fakeSpec{Status: 0, Console: "booting\n[gometal] triple fault soon\n"},
			code: -1, err: qemu.ErrNoStatus, errSubstr: "triple fault soon",
		},
		{name: "reset after a status record", spec: fakeSpec{Status: 0, Console: "bye\n[gometal] exit status 3\n"}, code: 3},
		{name: "reset after status record 0", spec: fakeSpec{Status: 0, Console: "[gometal] exit status 0\r\n"}, code: 0},
		{
			name: "reset after a panic record", spec: fakeSpec{Status: 0, Console: report + "[gometal] exit status panic\n"},
			code: -1, err: qemu.ErrKernelPanic, isPanic: true, report: reportText, errSubstr: "page fault in kernel",
		},
		{
			name: "debug-exit status wins over the record", spec: fakeSpec{Status: 7, Console: "[gometal] exit status 5\n"},
			code: 3,
		},
		{name: "even status", spec: fakeSpec{Status: 2}, code: -1, err: qemu.ErrQEMU},
		{
			name: "QEMU error", spec: fakeSpec{Status: 1, Stderr: "qemu-system-x86_64: -kernel x: bad image\n"},
			code: -1, err: qemu.ErrQEMU, errSubstr: "bad image",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bin, image := fake(t, tt.spec)
			res, err := qemu.Run(context.Background(), qemu.Options{Image: image, QEMU: bin, Timeout: 20 * time.Second})
			require.NotNil(t, res, "%v", err)
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.err)
				assert.Contains(t, err.Error(), tt.errSubstr)
			}
			if tt.isPanic {
				assert.ErrorIs(t, err, qemu.ErrKernelPanic)
			}
			assert.Equal(t, tt.code, res.ExitCode)
			assert.Equal(t, tt.isPanic, res.Panic)
			assert.Equal(t, tt.report, res.PanicReport)
			assert.Equal(t, tt.spec.Console, string(res.Console))
			assert.NotErrorIs(t, err, qemu.ErrTimeout)
		})
	}
}

func TestRunSplitsConsole(t *testing.T) {
	bin, image := fake(t, fakeSpec{Status: 1, Console: "[gometal] boot\nhel\r\n[gometal] tick\nlo\n"})
	var live bytes.Buffer
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, QEMU: bin, Console: &live})
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(res.Output))
	assert.Equal(t, "[gometal] boot\n[gometal] tick\n", string(res.KernelLog))
	assert.Equal(t, string(res.Console), live.String())
	assert.False(t, res.Panic)
	assert.Positive(t, res.Duration)
}

func TestRunISOSkipsFirmware(t *testing.T) {
	bin, iso := fake(t, fakeSpec{Status: 1, Console: "Welcome to GRUB!\r[gometal] boot\nhello\n"})
	res, err := qemu.Run(context.Background(), qemu.Options{ISO: iso, QEMU: bin})
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(res.Output))
	assert.Equal(t, "[gometal] boot\n", string(res.KernelLog))
	assert.Equal(t, "Welcome to GRUB!\r", string(res.Firmware))
}

func TestRunStdin(t *testing.T) {
	bin, image := fake(t, fakeSpec{Status: 1, EchoStdin: true, Console: "> "})
	res, err := qemu.Run(context.Background(), qemu.Options{
		Image: image, QEMU: bin, Stdin: strings.NewReader("typed\n"), Timeout: 20 * time.Second,
	})
	require.NoError(t, err)
	assert.Equal(t, "> typed\n", string(res.Output))
}

func TestRunPassesArgs(t *testing.T) {
	argsFile := filepath.Join(t.TempDir(), "args.json")
	bin, image := fake(t, fakeSpec{Status: 1, ArgsFile: argsFile})
	o := qemu.Options{Image: image, QEMU: bin, SMP: 2, Mem: "64M", Append: "A=b -- x"}
	_, err := qemu.Run(context.Background(), o)
	require.NoError(t, err)
	data, err := os.ReadFile(argsFile)
	require.NoError(t, err)
	var args []string
	require.NoError(t, json.Unmarshal(data, &args))
	// The run adds the stall report's QMP socket and kernel option
	// (stall.go) to what Args gives.
	assert.Subset(t, args, []string{"-no-reboot", "-nodefaults", "isa-debug-exit,iobase=0xf4,iosize=0x04", "unknown_nmi_panic A=b -- x", "-qmp", image})
	o.NoStallReport = true
	_, err = qemu.Run(context.Background(), o)
	require.NoError(t, err)
	data, err = os.ReadFile(argsFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &args))
	assert.Equal(t, o.Args(), args, "without the stall report, exactly Args")
}

func TestRunTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	bin, image := fake(t, fakeSpec{
		Console: "booting\nstill here\n", Sleep: time.Minute, Status: 1, ChildPIDFile: pidFile,
	})
	start := time.Now()
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, QEMU: bin, Timeout: 1500 * time.Millisecond})
	elapsed := time.Since(start)
	require.ErrorIs(t, err, qemu.ErrTimeout)
	assert.Contains(t, err.Error(), "1.5s")
	assert.Contains(t, err.Error(), "still here")
	assert.Less(t, elapsed, 10*time.Second, "QEMU's process group was not killed")
	require.NotNil(t, res)
	assert.Equal(t, -1, res.ExitCode)
	assert.Equal(t, "booting\nstill here\n", string(res.Output))

	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(string(data))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 50*time.Millisecond,
		"QEMU's child %d survived the timeout", pid)
}

// gone reports whether pid no longer runs (a zombie counts as gone).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(after, "Z")
}

func TestRunCancel(t *testing.T) {
	bin, image := fake(t, fakeSpec{Sleep: time.Minute, Status: 1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := qemu.Run(ctx, qemu.Options{Image: image, QEMU: bin})
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, qemu.ErrTimeout)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestRunNoQEMU(t *testing.T) {
	_, image := fake(t, fakeSpec{})
	for _, bin := range []string{"gometal-no-such-qemu", filepath.Join(t.TempDir(), "qemu-system-x86_64")} {
		res, err := qemu.Run(context.Background(), qemu.Options{Image: image, QEMU: bin})
		require.ErrorIs(t, err, qemu.ErrNoQEMU)
		assert.Contains(t, err.Error(), "apt-get install -y qemu-system-x86")
		assert.Nil(t, res)
	}
}

func TestRunNoImage(t *testing.T) {
	bin, _ := fake(t, fakeSpec{Status: 1})
	_, err := qemu.Run(context.Background(), qemu.Options{Image: filepath.Join(t.TempDir(), "none.img"), QEMU: bin})
	require.ErrorIs(t, err, os.ErrNotExist)
}

// NoTimeout lets a guest run as long as it likes (a server); only the
// context ends it then.
func TestRunNoTimeout(t *testing.T) {
	bin, image := fake(t, fakeSpec{Console: "up\n", Sleep: 300 * time.Millisecond, Status: 7})
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, QEMU: bin, Timeout: qemu.NoTimeout})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)

	bin, image = fake(t, fakeSpec{Sleep: time.Minute, Status: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = qemu.Run(ctx, qemu.Options{Image: image, QEMU: bin, Timeout: qemu.NoTimeout})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, qemu.ErrTimeout)
}
