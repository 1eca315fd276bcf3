package qemu_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
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
// that become Go panics (SIGSEGV, SIGFPE; with SetPanicOnFault, writes to
// read-only memory and jumps into non-executable data, with their fault
// addresses), which blocking calls a caught signal restarts
// (examples/sigrestart), a signal the program sends itself (SIGUSR1 through
// os/signal), a fatal SIGILL, the runtime's stack-overflow error, and CPU
// profiling (SIGPROF from CPU-time timers). Like every boot case they run
// at 1 and 4 CPUs (TestBoot, TestSMPExamples).
func init() {
	bootCases["preempt"] = bootCase{}
	bootCases["faults"] = bootCase{}
	// Go has no handler for a synchronous SIGILL: the runtime dies with
	// "SIGILL: illegal instruction", exit 2, as on Linux. The traceback
	// holds addresses, so only its head is compared with the host's.
	bootCases["sigill"] = bootCase{trim: sigillHead, check: func(t *testing.T, res *qemu.Result) {
		assert.Regexp(t, `(?s)\[running\]:\nmain\.ud2\(\)\n.*\nmain\.main\(\)\n`, string(res.Output), "traceback from the faulting instruction")
	}}
	bootCases["stackoverflow"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 2, res.ExitCode, "the runtime's fatal error exits 2")
		assert.Contains(t, string(res.Output), "runtime: goroutine stack exceeds 1048576-byte limit")
		assert.Contains(t, string(res.Output), "fatal error: stack overflow")
	}}
	bootCases["cpuprofile"] = bootCase{guestOnly: true, check: checkCPUProfile}
	// A caught signal restarts a blocking read and a futex wait (the
	// runtime's handlers have SA_RESTART) and ends nanosleep and
	// epoll_wait with EINTR, as on Linux.
	bootCases["sigrestart"] = bootCase{}
}

// sigillHead is the first four lines of examples/sigill's output (what it
// printed, the signal, its PC and code, the instruction bytes), with the
// PC's value and the M's number (which thread ran it depends on
// scheduling) left out.
func sigillHead(out []byte) []byte {
	lines := bytes.SplitAfterN(out, []byte("\n"), 5)
	head := bytes.Join(lines[:min(4, len(lines))], nil)
	return regexp.MustCompile(`PC=0x[0-9a-f]+ m=\d+ `).ReplaceAll(head, []byte("PC=(address) m=(thread) "))
}

// TestSysmonPreemption boots examples/preempt, faults and tickerlag with
// the kernel's time slices off (slice=off), on 1 CPU and on 4: preemption
// is then Linux's, left to the runtime's sysmon, which sends SIGURG with
// tgkill to a thread often running on another CPU, so the signal needs an
// IPI there. Boot cases otherwise run with slice=1ms.
func TestSysmonPreemption(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	for _, name := range []string{"preempt", "faults", "tickerlag"} {
		for _, n := range smpCounts {
			t.Run(fmt.Sprintf("%s/smp%d", name, n), func(t *testing.T) {
				t.Parallel()
				c := bootCases[name]
				check := c.check
				c.slice, c.smp, c.tag = "off", n, fmt.Sprintf("off-smp%d", n)
				c.check = func(t *testing.T, res *qemu.Result) {
					assert.Contains(t, string(res.KernelLog), "goroutine time slices off")
					assert.Regexp(t, `cpu 0: .* 0 slice preemptions requested`, string(res.KernelLog))
					assert.NotRegexp(t, `cpu \d+: .* [1-9]\d* slice preemptions requested`, string(res.KernelLog))
					if check != nil {
						check(t, res)
					}
				}
				s.boot(t, name, c)
			})
		}
	}
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
// waits for input, on 1 CPU and on 4 (where the console interrupt and the
// thread the signal goes to may be on different CPUs): the Go runtime
// must dump its goroutines and exit 2, as on a Linux terminal.
func TestConsoleSIGQUIT(t *testing.T) {
	root := mustRoot(t)
	img := filepath.Join(t.TempDir(), "upper.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/upper", Out: img, Dir: root})
	require.NoError(t, err)
	for _, n := range smpCounts {
		t.Run(fmt.Sprintf("smp%d", n), func(t *testing.T) {
			in, feed := io.Pipe()
			w := &watcher{want: "HELLO\n", then: func() { feed.Write([]byte{0x1c}) }}
			go feed.Write([]byte("hello\n"))
			res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: n, Append: "slice=1ms", Stdin: in, Console: w, Timeout: 60 * time.Second})
			feed.Close()
			require.NoError(t, err)
			assert.Equal(t, 2, res.ExitCode)
			assert.Contains(t, string(res.Output), "SIGQUIT: quit")
			assert.Contains(t, string(res.Output), "goroutine 1")
		})
	}
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

// TestConsoleSignalEveryRound boots qemu/testdata/sigquitloop at 4 CPUs
// and sends Ctrl-\ each time its main thread is about to block in a read
// of standard input, 60 rounds in one boot: each SIGQUIT must be caught
// ("got N"), never left pending on a thread asleep in its read. Before
// interruptIfSignalled (kernel/syscall.go) about 3 in 100 such signals
// were lost when the signal was sent while the thread was still in ring
// 3 on its way into the read, and the guest then hung.
func TestConsoleSignalEveryRound(t *testing.T) {
	root := mustRoot(t)
	img := filepath.Join(t.TempDir(), "sigquitloop.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/sigquitloop", Out: img, Dir: root})
	require.NoError(t, err)
	const rounds = 60
	in, feed := io.Pipe()
	defer feed.Close()
	answers := make(chan []byte, 2*rounds+2)
	go func() {
		for b := range answers {
			if _, err := feed.Write(b); err != nil {
				return
			}
		}
	}()
	defer close(answers)
	r := &lineResponder{answer: func(line string) []byte {
		switch {
		case strings.HasPrefix(line, "ready "):
			return []byte{0x1c}
		case strings.HasPrefix(line, "got "):
			return []byte("\n")
		}
		return nil
	}, out: answers}
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 4, Append: "slice=1ms", Stdin: in, Console: r,
		ProgramArgs: []string{fmt.Sprint(rounds)}, Timeout: 60 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	out := string(res.Output)
	assert.Contains(t, out, fmt.Sprintf("got %d\n", rounds))
	assert.Contains(t, out, fmt.Sprintf("%d rounds\n", rounds))
	assert.NotContains(t, out, "SIGQUIT: quit", "the program caught SIGQUIT: the runtime must not dump")
}

// lineResponder queues answer(line) on out for each complete line the
// console shows (nil: no answer).
type lineResponder struct {
	answer func(line string) []byte
	out    chan<- []byte
	mu     sync.Mutex
	part   []byte
}

func (r *lineResponder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.part = append(r.part, p...)
	for {
		i := bytes.IndexByte(r.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		if b := r.answer(strings.TrimRight(string(r.part[:i]), "\r")); b != nil {
			r.out <- b
		}
		r.part = r.part[i+1:]
	}
}
