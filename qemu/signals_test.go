package qemu_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Boot cases for signal delivery: asynchronous preemption (SIGURG), faults
// that become Go panics (SIGSEGV, SIGFPE), the runtime's stack-overflow
// error, and CPU profiling (SIGPROF from CPU-time timers).
func init() {
	bootCases["preempt"] = bootCase{}
	bootCases["faults"] = bootCase{}
	bootCases["stackoverflow"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 2, res.ExitCode, "the runtime's fatal error exits 2")
		assert.Contains(t, string(res.Output), "runtime: goroutine stack exceeds 1048576-byte limit")
		assert.Contains(t, string(res.Output), "fatal error: stack overflow")
	}}
	bootCases["cpuprofile"] = bootCase{guestOnly: true, check: checkCPUProfile}
}

// checkCPUProfile decodes the profile the guest printed and requires
// samples whose stacks contain the hot function.
func checkCPUProfile(t *testing.T, res *qemu.Result) {
	require.Equal(t, 0, res.ExitCode)
	out := string(res.Output)
	begin, end := strings.Index(out, "BEGIN PROFILE\n"), strings.Index(out, "END PROFILE")
	require.True(t, begin >= 0 && end > begin, "no profile in the output:\n%s", out)
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(out[begin+len("BEGIN PROFILE\n"):end], "\n", ""))
	require.NoError(t, err)
	p, err := profile.Parse(bytes.NewReader(raw))
	require.NoError(t, err)
	var total, hot int64
	for _, s := range p.Sample {
		total += s.Value[0]
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil && line.Function.Name == "main.hot" {
					hot += s.Value[0]
				}
			}
		}
	}
	require.NotZero(t, total, "the profile has no samples: SIGPROF was not delivered")
	assert.Greater(t, hot*4, total, "main.hot should dominate the profile (%d of %d samples)", hot, total)
}

// TestConsoleSIGQUIT sends Ctrl-\ on the serial line once the program
// waits for input: the Go runtime must dump its goroutines and exit 2, as
// on a Linux terminal.
func TestConsoleSIGQUIT(t *testing.T) {
	root := mustRoot(t)
	img := filepath.Join(t.TempDir(), "upper.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/upper", Out: img, Dir: root})
	require.NoError(t, err)
	in, feed := io.Pipe()
	w := &watcher{want: "HELLO\n", then: func() { feed.Write([]byte{0x1c}) }}
	go feed.Write([]byte("hello\n"))
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Stdin: in, Console: w, Timeout: 60 * time.Second})
	feed.Close()
	require.NoError(t, err)
	assert.Equal(t, 2, res.ExitCode)
	assert.Contains(t, string(res.Output), "SIGQUIT: quit")
	assert.Contains(t, string(res.Output), "goroutine 1")
}

// watcher calls then once the console has shown want.
type watcher struct {
	mu   sync.Mutex
	seen bytes.Buffer
	want string
	then func()
	done bool
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen.Write(p)
	if !w.done && strings.Contains(w.seen.String(), w.want) {
		w.done = true
		go w.then()
	}
	return len(p), nil
}
