package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// gometal run's console with a real QEMU: the program's streams on the
// command's, piped input with end of file, the kernel log on stderr or in
// a file or nowhere, and a terminal in raw mode. -short skips them.

var (
	upperOnce sync.Once
	upperImg  string
	upperErr  error
	upperDir  string // TestMain removes it
)

// TestMain removes what the tests built once for all.
func TestMain(m *testing.M) {
	code := m.Run()
	if upperDir != "" {
		os.RemoveAll(upperDir)
	}
	os.Exit(code)
}

// upperImage builds examples/upper once.
func upperImage(t *testing.T) string {
	t.Helper()
	needImages(t)
	upperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gometal-upper")
		if err != nil {
			upperErr = err
			return
		}
		upperDir = dir
		root, _ := filepath.Abs("../..")
		upperImg = filepath.Join(dir, "upper.img")
		_, upperErr = image.Build(context.Background(), image.BuildOptions{Pkg: "./examples/upper", Out: upperImg, Dir: root})
	})
	require.NoError(t, upperErr)
	return upperImg
}

// hostUpper runs examples/upper on the host with input.
func hostUpper(t *testing.T, input string) string {
	t.Helper()
	cmd := exec.Command("go", "run", "./examples/upper")
	cmd.Dir, cmd.Stdin = "../..", strings.NewReader(input)
	out, err := cmd.Output()
	require.NoError(t, err)
	return string(out)
}

// TestRunConsolePipe pipes input into a program: it sees end of file,
// its output is the host's, and the kernel log is on stderr, not stdout.
func TestRunConsolePipe(t *testing.T) {
	img := upperImage(t)
	input := "hello\nbinary \x03\x1c\x1a bytes\nno newline"
	code, out, errOut := call(t, input, "run", img)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, hostUpper(t, input), out)
	assert.Contains(t, errOut, "[gometal] program exited with status 0")
	assert.NotContains(t, out, "[gometal]")
}

// TestRunConsoleKlogQuiet checks --klog FILE and --quiet, the latter with
// --env and arguments.
func TestRunConsoleKlogQuiet(t *testing.T) {
	img := upperImage(t)
	want := hostUpper(t, "abc\n")
	klog := filepath.Join(t.TempDir(), "klog.txt")
	code, out, errOut := call(t, "abc\n", "run", "--klog", klog, img)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, want, out)
	assert.Empty(t, errOut, "the kernel log goes to the file")
	log, err := os.ReadFile(klog)
	require.NoError(t, err)
	assert.Contains(t, string(log), "[gometal] booting: ")
	assert.Contains(t, string(log), "[gometal] virtio console: ports 1 2 3 4")
	assert.Contains(t, string(log), "[gometal] exit status 0\n")

	code, out, errOut = call(t, "abc\n", "run", "--quiet", "--env", "FOO=bar", img, "--", "arg")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, want, out)
	assert.Empty(t, errOut)

	code, _, errOut = call(t, "", "run", "--quiet", "--klog", klog, img)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "choose one")
}

// openPTY returns a pseudo-terminal's two ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return m, s
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runInTerminal runs gometal run img with a pseudo-terminal as stdin and
// returns, once the terminal is in raw mode, the master end, the outputs
// and a channel with the exit code.
func runInTerminal(t *testing.T, img string) (master *os.File, out, errOut *syncBuffer, done chan int) {
	m, s := openPTY(t)
	before, err := unix.IoctlGetTermios(int(m.Fd()), unix.TCGETS)
	require.NoError(t, err)
	t.Cleanup(func() {
		after, err := unix.IoctlGetTermios(int(m.Fd()), unix.TCGETS)
		require.NoError(t, err)
		assert.Equal(t, *before, *after, "terminal settings restored")
	})
	out, errOut, done = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	go func() {
		done <- gometal(context.Background(), stdio{s, out, errOut}, []string{"run", "--timeout", "60s", img})
	}()
	waitFor(t, errOut, "raw mode") // typed before, the keys would meet the terminal's line editing
	return m, out, errOut, done
}

// waitFor polls b until it contains want.
func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(b.String(), want) }, 60*time.Second, 20*time.Millisecond,
		"waiting for %q, got %q", want, b.String())
}

// TestRunConsoleTerminal types into a terminal: the line comes back in
// upper case (echoed as typed, Enter as a newline), Ctrl-Z (SIGTSTP)
// leaves a program that does not handle it running, Ctrl-C kills the
// program with SIGINT as on Linux, and the terminal's settings are back
// afterwards (runInTerminal checks that for every terminal test).
func TestRunConsoleTerminal(t *testing.T) {
	img := upperImage(t)
	m, out, errOut, done := runInTerminal(t, img)
	m.Write([]byte("hello\r"))
	waitFor(t, out, "HELLO\n")
	assert.Equal(t, "hello\nHELLO\n", out.String(), "the echo, then the program's line")
	m.Write([]byte("\x1aworld\r")) // Ctrl-Z: SIGTSTP, which a program without a parent ignores
	waitFor(t, out, "WORLD\n")
	m.Write([]byte{0x03})
	select {
	case code := <-done:
		assert.NotEqual(t, 0, code)
	case <-time.After(60 * time.Second):
		t.Fatal("Ctrl-C did not end the program")
	}
	assert.Contains(t, errOut.String(), "program killed by SIGINT")
}

// TestRunConsoleEscape kills the guest with Ctrl-A x while the program
// waits for input.
func TestRunConsoleEscape(t *testing.T) {
	img := upperImage(t)
	m, out, errOut, done := runInTerminal(t, img)
	m.Write([]byte("abc\r"))
	waitFor(t, out, "ABC\n")
	m.Write([]byte{0x01, 'x'})
	select {
	case code := <-done:
		assert.Equal(t, exitSignal, code)
	case <-time.After(60 * time.Second):
		t.Fatal("Ctrl-A x did not end the run")
	}
	assert.Contains(t, errOut.String(), "guest killed (Ctrl-A x)")
}

// TestRunConsoleCtrlD edits a line in a terminal (Ctrl-U erases what was
// typed, Backspace one character) and ends the program's input with
// Ctrl-D: upper reads the edited line, then end of file, as on Linux.
func TestRunConsoleCtrlD(t *testing.T) {
	img := upperImage(t)
	m, out, errOut, done := runInTerminal(t, img)
	m.Write([]byte("zz\x15abx\x7fc\r\x04"))
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errOut.String())
	case <-time.After(60 * time.Second):
		t.Fatal("Ctrl-D did not end the input")
	}
	assert.Equal(t, "zz\b \b\b \babx\b \bc\nABC\n1 lines\n", out.String(), "the echo with its erasures, then the program's output")
}

// TestRunConsoleTerminalQuit types Ctrl-\: the guest's Go runtime dumps
// its goroutines on the program's stderr and exits 2, as on a Linux
// terminal; gometal itself is not signalled.
func TestRunConsoleTerminalQuit(t *testing.T) {
	img := upperImage(t)
	m, out, errOut, done := runInTerminal(t, img)
	m.Write([]byte("x\r"))
	waitFor(t, out, "X\n")
	m.Write([]byte{0x1c})
	select {
	case code := <-done:
		assert.Equal(t, 2, code, errOut.String())
	case <-time.After(60 * time.Second):
		t.Fatal("Ctrl-\\ did not end the program")
	}
	assert.Contains(t, errOut.String(), "SIGQUIT: quit")
	assert.Contains(t, errOut.String(), "main.main()")
}
