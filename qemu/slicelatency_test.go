package qemu_test

import (
	"fmt"
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

// TestSliceLatency checks the goal of issue 8 with examples/tickerlag
// (GOMAXPROCS=1, three goroutines spinning without calls, a 5 ms ticker):
// with slice=1ms the ticks' median lateness is within the slice plus 1 ms,
// at 1 and at 4 CPUs; with slice=off, where only the runtime's sysmon
// preempts (10-20 ms), it is not, so the kernel's slices are what makes
// the difference. The subtests run one after another, not beside other
// guests, because the guest's clock is the host's.
func TestSliceLatency(t *testing.T) {
	img := filepath.Join(t.TempDir(), "tickerlag.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/tickerlag", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err, "image build")
	const bound = 2 * time.Millisecond // slice=1ms plus 1 ms
	for _, smp := range []int{1, 4} {
		t.Run(fmt.Sprintf("slice1ms-smp%d", smp), func(t *testing.T) {
			p50 := tickerLagP50(t, img, smp, "slice=1ms", 200)
			if p50 > bound {
				// One late boot can be the host's doing (another QEMU
				// on its cores); a kernel that does not slice misses
				// the bound by 10 ms every time.
				t.Logf("p50 %v is over %v; booting once more", p50, bound)
				p50 = tickerLagP50(t, img, smp, "slice=1ms", 200)
			}
			assert.LessOrEqual(t, p50, bound, "5 ms ticker's p50 lateness with slice=1ms at %d CPUs", smp)
		})
		t.Run(fmt.Sprintf("sliceoff-smp%d", smp), func(t *testing.T) {
			p50 := tickerLagP50(t, img, smp, "slice=off", 100)
			assert.Greater(t, p50, bound, "with slice=off only sysmon preempts the hogs (10-20 ms)")
		})
	}
}

// tickerLagP50 boots the tickerlag image at smp CPUs with the kernel
// option option, measuring ticks ticks, and returns the p50 lateness it
// printed.
func tickerLagP50(t *testing.T, img string, smp int, option string, ticks int) time.Duration {
	t.Helper()
	res, err := qemu.Run(t.Context(), qemu.Options{
		Image: img, SMP: smp, Timeout: 60 * time.Second,
		Append: fmt.Sprintf("%s GOMAXPROCS=1 -- -hogs 3 -period 5ms -ticks %d", option, ticks),
	})
	if res != nil {
		t.Logf("guest ran %v; output:\n%s", res.Duration.Round(time.Millisecond), res.Output)
	}
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "kernel log:\n%s", res.KernelLog)
	if option == "slice=off" {
		require.Contains(t, string(res.KernelLog), "goroutine time slices off")
	} else {
		require.Contains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	}
	m := regexp.MustCompile(`(?m)^BENCH name=ticker_lateness_p50 value=(\d+) unit=us\r?$`).FindSubmatch(res.Output)
	require.NotNil(t, m, "no p50 line in the output")
	us, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	return time.Duration(us) * time.Microsecond
}
