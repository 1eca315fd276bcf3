package qemu_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The virtio console tests boot with qemu.Options.VirtioConsole: the
// program's stdout, stderr and stdin and the kernel log each on a port of
// their own (docs/protocols.md, "Console").

var (
	consoleImgOnce sync.Once
	consoleImg     string
	consoleHost    string
	consoleImgErr  error
)

// consoleImage builds qemu/testdata/console as an image and as a host
// binary, once per test run.
func consoleImage(t *testing.T) (img, host string) {
	t.Helper()
	consoleImgOnce.Do(func() {
		dir := filepath.Dir(fakeScript) // TestMain removes it
		root := mustRoot(t)
		consoleImg, consoleHost = filepath.Join(dir, "console.img"), filepath.Join(dir, "console")
		if _, consoleImgErr = image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/console", Out: consoleImg, Dir: root}); consoleImgErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", consoleHost, "./qemu/testdata/console")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			consoleImgErr = fmt.Errorf("host build: %v: %s", err, out)
		}
	})
	require.NoError(t, consoleImgErr)
	return consoleImg, consoleHost
}

// consoleHostRun runs the host binary with stdin and returns stdout, stderr and
// the exit code.
func consoleHostRun(t *testing.T, bin string, stdin []byte, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.Bytes(), e.Bytes(), ee.ExitCode()
	}
	require.NoError(t, err)
	return o.Bytes(), e.Bytes(), 0
}

// TestVirtioConsoleUpperEOF pipes lines into examples/upper: the program
// must see end of file after them, exit 0 and print what it prints on the
// host; nothing of the kernel log may be in its output.
func TestVirtioConsoleUpperEOF(t *testing.T) {
	root := mustRoot(t)
	img := filepath.Join(t.TempDir(), "upper.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/upper", Out: img, Dir: root})
	require.NoError(t, err)
	input := "hello\nworld\n\x03 and \x1c are plain bytes\nlast line without newline"
	cmd := exec.Command("go", "run", "./examples/upper")
	cmd.Dir, cmd.Stdin = root, strings.NewReader(input)
	want, err := cmd.Output()
	require.NoError(t, err)
	for _, machine := range []string{"q35", "microvm"} {
		t.Run(machine, func(t *testing.T) {
			res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Machine: machine, VirtioConsole: true, Stdin: strings.NewReader(input), Timeout: 60 * time.Second})
			require.NoError(t, err, "kernel log:\n%s", res.KernelLog)
			assert.Equal(t, 0, res.ExitCode)
			assert.Equal(t, string(want), string(res.Output), "kernel log:\n%s", res.KernelLog)
			assert.Contains(t, string(res.KernelLog), "virtio console: ports 1 2 3 4")
			assert.NotContains(t, string(res.Output), qemu.KernelPrefix)
		})
	}
}

// TestVirtioConsoleBinaryStdin copies 1 MiB of random bytes through the
// program (stdin to stdout) on 2 CPUs: every byte value arrives
// unchanged, with end of file at the end.
func TestVirtioConsoleBinaryStdin(t *testing.T) {
	img, host := consoleImage(t)
	data := make([]byte, 1<<20)
	rand.Read(data)
	data[0], data[1], data[2] = 0x03, 0x1c, 0x1a // the terminal's signal bytes first
	wantOut, wantErr, code := consoleHostRun(t, host, data, "cat")
	require.Equal(t, 0, code)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 2, VirtioConsole: true, Append: "-- cat", Stdin: bytes.NewReader(data), Timeout: 120 * time.Second})
	require.NoError(t, err, "kernel log:\n%s", res.KernelLog)
	assert.Equal(t, 0, res.ExitCode)
	assert.True(t, bytes.Equal(wantOut, res.Output), "stdout differs: %d bytes, want %d", len(res.Output), len(wantOut))
	assert.Equal(t, string(wantErr), string(res.Stderr))
}

// TestVirtioConsoleBigWrite writes 24 MiB to stdout in 1 MiB writes: all of
// it must arrive, in order, at 10 MB/s or more (measured from the first
// byte to the last, which leaves out the boot).
func TestVirtioConsoleBigWrite(t *testing.T) {
	img, host := consoleImage(t)
	const n = 24 << 20
	want, _, code := consoleHostRun(t, host, nil, "big", fmt.Sprint(n))
	require.Equal(t, 0, code)
	tw := &timingWriter{}
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, VirtioConsole: true, Append: "quiet -- big " + fmt.Sprint(n), Stdout: tw, Timeout: 180 * time.Second})
	require.NoError(t, err, "kernel log:\n%s", res.KernelLog)
	require.Equal(t, 0, res.ExitCode)
	require.Equal(t, len(want), len(res.Output))
	require.True(t, bytes.Equal(want, res.Output), "stdout differs from the host's")
	rate := float64(n) / tw.last.Sub(tw.first).Seconds() / 1e6
	t.Logf("%d bytes in %v: %.1f MB/s", n, tw.last.Sub(tw.first).Round(time.Millisecond), rate)
	assert.GreaterOrEqual(t, rate, 10.0, "guest stdout slower than 10 MB/s")
}

// timingWriter notes when the first and the last bytes arrived.
type timingWriter struct {
	mu          sync.Mutex
	first, last time.Time
}

func (w *timingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.first.IsZero() {
		w.first = now
	}
	w.last = now
	return len(p), nil
}

// TestVirtioConsoleStreams checks that stdout and stderr arrive apart and
// whole, a last partial line included, as on the host, with the exit
// status; the kernel log is neither of them.
func TestVirtioConsoleStreams(t *testing.T) {
	img, host := consoleImage(t)
	wantOut, wantErr, code := consoleHostRun(t, host, nil, "streams")
	require.Equal(t, 3, code)
	machines := []struct{ machine, append string }{
		{"q35", ""}, {"pc", ""}, {"microvm", ""},
		// Without ACPI the transport comes from the command line, as
		// Firecracker announces it (docs/microvm.md).
		{"microvm,acpi=off", "virtio_mmio.device=512@0xfeb00e00:12 "},
	}
	for _, m := range machines {
		t.Run(m.machine, func(t *testing.T) {
			res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Machine: m.machine, VirtioConsole: true, Append: m.append + "-- streams", Timeout: 60 * time.Second})
			require.NoError(t, err, "kernel log:\n%s", res.KernelLog)
			assert.Equal(t, 3, res.ExitCode)
			assert.Equal(t, string(wantOut), string(res.Output))
			assert.Equal(t, string(wantErr), string(res.Stderr))
			assert.Contains(t, string(res.KernelLog), "program exited with status 3")
		})
	}
}

// TestSerialConsoleLossless checks the serial fallback (no virtio
// console): 512 KiB written by the program arrive whole, and 48 KiB of
// input lines (more than the console ring holds) reach examples/upper
// whole while it prints. (QEMU hands the UART one byte at a time and the
// kernel reads the UART only between system calls, so in practice the
// ring does not fill here; the kernel stops reading the UART when it
// does, docs/protocols.md.)
func TestSerialConsoleLossless(t *testing.T) {
	img, host := consoleImage(t)
	const n = 512 << 10
	want, _, code := consoleHostRun(t, host, nil, "big", fmt.Sprint(n))
	require.Equal(t, 0, code)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Append: "-- big " + fmt.Sprint(n), Timeout: 180 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.True(t, bytes.Equal(want, res.Output), "serial output differs from the host's: %d bytes, want %d", len(res.Output), len(want))

	root := mustRoot(t)
	upper := filepath.Join(t.TempDir(), "upper.img")
	_, err = image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/upper", Out: upper, Dir: root})
	require.NoError(t, err)
	var in strings.Builder
	for i := 0; in.Len() < 48<<10; i++ {
		fmt.Fprintf(&in, "input line %05d\n", i)
	}
	in.WriteString("quit\n")
	cmd := exec.Command("go", "run", "./examples/upper")
	cmd.Dir, cmd.Stdin = root, strings.NewReader(in.String())
	wantUpper, err := cmd.Output()
	require.NoError(t, err)
	res, err = qemu.Run(t.Context(), qemu.Options{Image: upper, Stdin: strings.NewReader(in.String()), Timeout: 180 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, string(wantUpper), string(res.Output))
}

// TestVirtioConsoleParallelWrites: 8 goroutines on 4 CPUs write 300
// numbered lines each, one write a line, to stdout and (every fifth) to
// stderr. Each stream must hold the host's lines, none torn or lost,
// each writer's in its order (the interleaving of writers is the
// scheduler's). The writes to a port with a free slot are served under
// the files lock alone, held shared, and the interrupts that return
// slots too (kernel/console/vconio.go): /proc/gometal/sched must show it.
// A write that finds its queue full takes the kernel lock's path to
// wait, so some may; before the change every one did.
func TestVirtioConsoleParallelWrites(t *testing.T) {
	img, host := consoleImage(t)
	const writers, lines = 8, 300
	args := []string{"par", fmt.Sprint(writers), fmt.Sprint(lines)}
	wantOut, wantErr, code := consoleHostRun(t, host, nil, args...)
	require.Equal(t, 0, code)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 4, VirtioConsole: true,
		Append: "-- " + strings.Join(args, " "), Timeout: 120 * time.Second})
	require.NoError(t, err, "kernel log:\n%s", res.KernelLog)
	require.Equal(t, 0, res.ExitCode, "kernel log:\n%s", res.KernelLog)
	out, sched, ok := strings.Cut(string(res.Output), "--- sched\n")
	require.True(t, ok, "no /proc/gometal/sched after the lines:\n%s", res.Output)
	sameLines(t, "stdout", string(wantOut), out)
	sameLines(t, "stderr", string(wantErr), string(res.Stderr))

	calls := lockedCalls(t, sched)
	events := parseCounts(t, sched, "event count")
	t.Logf("writes on the kernel lock's path: %d of %d; calls under the files lock alone: %d; console interrupts: %d under the files lock, %d on the kernel lock's path",
		calls["write"], writers*lines, events["file_call_fileslock"], events["console_interrupt_fileslock"], events["console_interrupt_locked"])
	assert.Less(t, calls["write"], uint64(writers*lines/2), "most console writes find a free slot and take the files lock alone")
	assert.GreaterOrEqual(t, events["file_call_fileslock"], uint64(writers*lines/2))
	assert.Positive(t, events["console_interrupt_fileslock"], "interrupts that only return slots take the files lock alone")
	assert.Zero(t, calls["fcntl"], "the runtime's F_GETFD and F_GETFL of the standard streams take the files lock alone")
	// Since 2026-12-07 those writes and interrupts hold the files lock
	// shared, beside each other (each queue's word lock keeps two apart:
	// console.VconWriteNow, console.TxInterrupt): over the whole run it
	// was held exclusively 2,784 and 2,899 times before (two boots) and
	// 52 and 90 after (two), the writes that waited for a slot (on the
	// kernel lock's path) among them.
	rows := parseLockTable(t, sched)
	f, sh := lockLine(t, rows, "files", sched), lockLine(t, rows, "files_shared", sched)
	assert.GreaterOrEqual(t, sh.acquisitions, uint64(writers*lines)-calls["write"]+events["console_interrupt_fileslock"],
		"the console's writes served under the files lock alone and its interrupts that returned slots held the files lock shared")
	assert.Less(t, f.acquisitions, uint64(writers*lines/8)+calls["write"], "the console's writes or interrupts held the files lock exclusively")
}

// sameLines checks that got holds want's lines, each as often, whole,
// and every writer's lines in order (lines "writer WW line NNNNN ...").
func sameLines(t *testing.T, stream, want, got string) {
	t.Helper()
	w, g := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	slices.Sort(w)
	slices.Sort(g)
	require.Equal(t, w, g, "%s: the guest's lines differ from the host's", stream)
	last := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		var writer string
		var n int
		_, err := fmt.Sscanf(line, "writer %s line %d", &writer, &n)
		require.NoError(t, err, "%s: %q", stream, line)
		if prev, ok := last[writer]; ok {
			assert.Greater(t, n, prev, "%s: writer %s's lines out of order", stream, writer)
		}
		last[writer] = n
	}
}

// slowWriter takes what it is given at about 4 MB/s (a millisecond for
// each 4 KiB begun): a host that reads the console slowly, so that the
// guest's transmit queue fills.
type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(len(p)/4096+1) * time.Millisecond)
	return len(p), nil
}

// TestVirtioConsoleNonblockingWrite writes 4 MiB to a non-blocking
// stdout (fcntl's F_SETFL, under the files lock alone) while the host
// reads slowly: writes that find every slot with the host answer EAGAIN
// without waiting, and the program waits for room in epoll
// (edge-triggered EPOLLOUT), which whoever frees the slots (the
// interrupt, or a write) must record and wake through the kernel lock's
// path (an epoll waiter watches the console). The bytes must arrive as
// on the host, where stdout is a pipe.
func TestVirtioConsoleNonblockingWrite(t *testing.T) {
	img, host := consoleImage(t)
	const n = 4 << 20
	want, _, code := consoleHostRun(t, host, nil, "nonblock", fmt.Sprint(n))
	require.Equal(t, 0, code)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 2, VirtioConsole: true,
		Append: "quiet -- nonblock " + fmt.Sprint(n), Stdout: slowWriter{}, Timeout: 180 * time.Second})
	require.NoError(t, err, "kernel log:\n%s", res.KernelLog)
	require.Equal(t, 0, res.ExitCode, "stderr:\n%s\nkernel log:\n%s", res.Stderr, res.KernelLog)
	require.True(t, bytes.Equal(want, res.Output), "stdout differs from the host's: %d bytes, want %d", len(res.Output), len(want))
	report, sched, ok := strings.Cut(string(res.Stderr), "--- sched\n")
	require.True(t, ok, "no /proc/gometal/sched on stderr:\n%s", res.Stderr)
	t.Logf("%s", strings.TrimSpace(report))
	var full, woken int
	_, err = fmt.Sscanf(report, "nonblock: %d writes found no room, epoll woke %d times", &full, &woken)
	require.NoError(t, err, "%q", report)
	// Each wait in epoll_wait has a 10 s timeout that fails the guest:
	// the program's status 0 says every one was woken by the room.
	assert.Positive(t, full, "the slow host filled the transmit queue")
	assert.Zero(t, lockedCalls(t, sched)["fcntl"], "F_SETFL and F_GETFL under the files lock alone")
}
