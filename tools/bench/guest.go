package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gometal/gometal/qemu"
)

// mainMarker is the workload's first output line.
const mainMarker = "BENCH-MAIN"

// Outcome is what one guest run gave.
type Outcome struct {
	// Report is the parsed workload output (never nil after Run).
	Report *Report
	// HostToMain is the host's wall-clock time from starting QEMU to the
	// marker's arrival on the serial line; 0 if it never came.
	HostToMain time.Duration
	// KernelToMain is the guest-clock time from kernel entry to main; 0 if
	// unknown.
	KernelToMain time.Duration
	// Err is the harness's or the parser's error, nil for a clean exit 0.
	Err error
	// TimedOut is set when the guest ran into its timeout.
	TimedOut bool
	// Console is the raw serial stream.
	Console []byte
	// Hint is what the side knows about failing on this boot's machine
	// (Side.MachineHints), added to Failure's reason; "" for none.
	Hint string
}

// Failure describes why the guest gave no (complete) result, for n/a cells:
// "" when it exited cleanly. The side's Hint, if any, follows the reason.
func (o Outcome) Failure(timeout time.Duration) string {
	var why string
	switch {
	case o.Err == nil:
		return ""
	case o.TimedOut:
		why = fmt.Sprintf("timed out after %v", timeout)
	default:
		msg, _, _ := strings.Cut(o.Err.Error(), "\n")
		why = "guest failed: " + strings.TrimSuffix(msg, ":")
	}
	if o.Hint != "" {
		why += " (" + o.Hint + ")"
	}
	return why
}

// Run boots the workload on side s as b describes. console, if not nil,
// receives the serial stream as it arrives.
func (s Side) Run(ctx context.Context, b Boot, console io.Writer) Outcome {
	o := s.Options(b)
	w := &markerWatch{marker: []byte(mainMarker)}
	o.Console = w
	if console != nil {
		o.Console = io.MultiWriter(w, console)
	}
	w.start = time.Now()
	res, err := qemu.Run(ctx, o)
	out := Outcome{Err: err, TimedOut: errors.Is(err, qemu.ErrTimeout), Hint: s.MachineHints[b.Machine]}
	out.HostToMain = w.elapsed()
	var output []byte
	if res != nil {
		out.Console, output = res.Console, res.Output
		if err == nil && res.ExitCode != 0 {
			out.Err = fmt.Errorf("workload exited with status %d", res.ExitCode)
		}
	}
	rep, perr := ParseReport(output)
	out.Report = rep
	if out.Err == nil {
		out.Err = perr
	}
	if res != nil {
		out.KernelToMain, _ = s.kernelToMain(res, rep)
	}
	return out
}

// markerWatch is an io.Writer over the serial stream that notes when the
// marker first arrives, wherever the stream's chunks split it.
type markerWatch struct {
	marker []byte
	start  time.Time

	mu   sync.Mutex
	tail []byte        // the last len(marker)-1 bytes seen
	seen time.Duration // 0 until the marker arrives
}

func (w *markerWatch) Write(p []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == 0 {
		buf := append(w.tail, p...)
		if bytes.Contains(buf, w.marker) {
			w.seen = now.Sub(w.start)
		}
		keep := min(len(buf), len(w.marker)-1)
		w.tail = append(w.tail[:0:0], buf[len(buf)-keep:]...)
	}
	return len(p), nil
}

// elapsed returns the marker's arrival time after start, or 0.
func (w *markerWatch) elapsed() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}
