package qemu_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The start-up tests check what the kernel hands the program besides its
// arguments: the time of main.main in the kernel log, the wall clock (from
// the RTC) and the environment reaching the runtime (GODEBUG).

func init() {
	// The wall clock differs on every run: only the guest runs it, judged
	// against the host's clock around the run.
	bootCases["wallclock"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		end := time.Now()
		assert.Equal(t, 0, res.ExitCode)
		checkWallClock(t, res, end.Add(-res.Duration), end)
	}}
}

// wallSlack is how far the guest's clock may be off: the RTC counts whole
// seconds, so the guest's clock may lag by up to one, plus the error of the
// TSC calibration under an emulator.
const wallSlack = 2 * time.Second

var wallClockLine = regexp.MustCompile(`(?m)^wall clock: (\d+) ns since the epoch$`)

// checkWallClock checks that the wall clock examples/wallclock printed lies
// within wallSlack of [start, end], host times around the run.
func checkWallClock(t *testing.T, res *qemu.Result, start, end time.Time) {
	m := wallClockLine.FindSubmatch(res.Output)
	require.NotNil(t, m, "no wall-clock line in the output:\n%s", res.Output)
	ns, err := strconv.ParseInt(string(m[1]), 10, 64)
	require.NoError(t, err)
	guest := time.Unix(0, ns)
	assert.WithinRange(t, guest, start.Add(-wallSlack), end.Add(wallSlack),
		"guest wall clock %v, host %v .. %v", guest.UTC(), start.UTC(), end.UTC())
}

var (
	mainReachedLine = regexp.MustCompile(`main\.main reached (\d+)\.(\d{3}) ms after kernel entry`)
	gctraceLine     = regexp.MustCompile(`(?m)^gc 1 @\d+\.\d+s `)
)

// TestStartup boots examples/wallclock once with GODEBUG=gctrace=1 and
// checks the main.main log line, the wall clock and the runtime's GC trace.
func TestStartup(t *testing.T) {
	img := filepath.Join(t.TempDir(), "wallclock.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/wallclock", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)

	start := time.Now()
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Mem: "64M", Append: "GODEBUG=gctrace=1", Timeout: 60 * time.Second})
	end := time.Now()
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", res.Console)
		}
	}()
	assert.Equal(t, 0, res.ExitCode)

	t.Run("main-reached", func(t *testing.T) {
		m := mainReachedLine.FindSubmatch(res.KernelLog)
		require.NotNil(t, m, "no main.main line in the kernel log")
		ms, _ := strconv.ParseInt(string(m[1]), 10, 64)
		us, _ := strconv.ParseInt(string(m[2]), 10, 64)
		reached := time.Duration(ms)*time.Millisecond + time.Duration(us)*time.Microsecond
		assert.Positive(t, reached)
		assert.Less(t, reached, res.Duration, "main.main reached later than QEMU ran")
	})
	t.Run("wall-clock", func(t *testing.T) { checkWallClock(t, res, start, end) })
	t.Run("gctrace", func(t *testing.T) {
		assert.Regexp(t, gctraceLine, string(res.Output), "GODEBUG=gctrace=1 must reach the runtime")
	})
}
