package qemu_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The start-up checks judge what the kernel hands the program besides its
// arguments: the time of main.main in the kernel log, the wall clock (from
// the RTC) and the environment reaching the runtime (GODEBUG). They are
// the check of examples/wallclock's boot case, so TestBoot and
// TestSMPExamples run them at 1 and 4 CPUs.

func init() {
	// The wall clock differs on every run: only the guest runs it, judged
	// against the host's clock around the run.
	bootCases["wallclock"] = bootCase{guestOnly: true, mem: "64M", append: "GODEBUG=gctrace=1", check: checkStartup}
}

// wallSlack is how far the guest's clock may be off: the RTC counts whole
// seconds, so the guest's clock may lag by up to one, plus the error of the
// TSC calibration under an emulator.
const wallSlack = 2 * time.Second

var (
	// Not anchored: the runtime prints its GC trace from another thread
	// in several writes, which the program's one write (of this line) can
	// fall between, on Linux as here.
	wallClockLine   = regexp.MustCompile(`wall clock: (\d+) ns since the epoch\n`)
	mainReachedLine = regexp.MustCompile(`main\.main reached (\d+)\.(\d{3}) ms after kernel entry`)
	gctraceLine     = regexp.MustCompile(`(?m)^gc 1 @\d+\.\d+s `)
)

// checkStartup judges a run of examples/wallclock booted with
// GODEBUG=gctrace=1; it is called right after the run, so the host's
// clock then and the run's duration bound when the guest read its clock.
func checkStartup(t *testing.T, res *qemu.Result) {
	end := time.Now()
	start := end.Add(-res.Duration)
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
	t.Run("wall-clock", func(t *testing.T) {
		m := wallClockLine.FindSubmatch(res.Output)
		require.NotNil(t, m, "no wall-clock line in the output:\n%s", res.Output)
		ns, err := strconv.ParseInt(string(m[1]), 10, 64)
		require.NoError(t, err)
		guest := time.Unix(0, ns)
		assert.WithinRange(t, guest, start.Add(-wallSlack), end.Add(wallSlack),
			"guest wall clock %v, host %v .. %v", guest.UTC(), start.UTC(), end.UTC())
	})
	t.Run("gctrace", func(t *testing.T) {
		// The trace as the runtime wrote it: without the program's line.
		trace := wallClockLine.ReplaceAllString(string(res.Output), "")
		assert.Regexp(t, gctraceLine, trace, "GODEBUG=gctrace=1 must reach the runtime")
	})
}
