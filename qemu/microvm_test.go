package qemu_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Boots on QEMU's microvm machine (no PCI, no PC speaker port, hardware-
// reduced ACPI or, with acpi=off, an MP table) and the clock check, which
// compares the guest's monotonic clock with the host's wall clock.

func init() {
	bootCases["clockcheck"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Regexp(t, `clockcheck: elapsed \d+ ms`, string(res.Output))
	}}
}

// microvmCheck returns a check that the kernel log names the clock source
// and, for acpi=off, the MP table with n CPUs.
func microvmCheck(n int, acpi bool) func(t *testing.T, res *qemu.Result) {
	return func(t *testing.T, res *qemu.Result) {
		log := string(res.KernelLog)
		assert.Contains(t, log, "clock: TSC ")
		assert.NotContains(t, log, "untrusted")
		assert.Contains(t, log, fmt.Sprintf(": %d CPUs,", n))
		assert.Contains(t, log, "[gometal] exit status ")
		if !acpi {
			assert.Contains(t, log, fmt.Sprintf("MP table at 0x000000000009fc00: %d CPUs", n))
		}
	}
}

// TestMicrovm boots hello and exit3 on microvm: with ACPI at 1, 2 and 4
// CPUs (with isa-debug-exit, or reading the status record), and with
// acpi=off at 2 and 4 CPUs (CPUs from the MP table). Output and exit
// status must match the host's.
func TestMicrovm(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	cases := []struct {
		name, example, machine, boot string
		smp                          int
		noDebugExit, acpi            bool
	}{
		{"hello-smp1", "hello", "microvm", "", 1, false, true},
		{"hello-smp2-record", "hello", "microvm", "", 2, true, true},
		{"exit3-smp2-record", "exit3", "microvm", "", 2, true, true},
		{"exit3-acpioff-smp2-record", "exit3", "microvm,acpi=off", "", 2, true, false},
		{"hello-acpioff-smp4", "hello", "microvm,acpi=off", "", 4, false, false},
		{"hello-smp4-record", "hello", "microvm", "", 4, true, true},
		{"hello-smp8-record", "hello", "microvm", "", 8, true, true},
		{"hello-acpioff-smp8", "hello", "microvm,acpi=off", "", 8, false, false},
		// A PVH-only image, as Firecracker boots it: QEMU's microvm enters
		// it with the multiboot magic in EAX, which must not mislead the
		// kernel.
		{"exit3-pvh-smp2-record", "exit3", "microvm", "pvh", 2, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := bootCase{machine: tc.machine, smp: tc.smp, noDebugExit: tc.noDebugExit, boot: tc.boot, check: microvmCheck(tc.smp, tc.acpi)}
			if tc.boot != "" {
				c.tag = tc.boot
				check := c.check
				c.check = func(t *testing.T, res *qemu.Result) {
					check(t, res)
					assert.Contains(t, string(res.KernelLog), "booting: PVH,")
				}
			}
			s.boot(t, tc.example, c)
		})
	}
}

// stampWriter notes when each wanted string first appears in the stream.
type stampWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  []string
	times map[string]time.Time
}

func (w *stampWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.buf.Write(p)
	for _, s := range w.want {
		if _, seen := w.times[s]; !seen && bytes.Contains(w.buf.Bytes(), []byte(s)) {
			w.times[s] = now
		}
	}
	return len(p), nil
}

// clockcheckEnv, when set to a duration (GOMETAL_CLOCKCHECK=10s), makes
// TestClock the long measurement of docs/microvm.md: clockcheck runs that
// long and the clocks must agree within 2%, the microVM issue's measure.
const clockcheckEnv = "GOMETAL_CLOCKCHECK"

// clockcheckRun returns clockcheck's measured time and the bound of the
// clocks' disagreement: 2 s within 5% (the quick test that runs under
// TCG in CI), or what clockcheckEnv says within 2%.
func clockcheckRun(t *testing.T) (time.Duration, float64) {
	v := os.Getenv(clockcheckEnv)
	if v == "" {
		return 2 * time.Second, 0.05
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "%s=%q", clockcheckEnv, v)
	require.Positive(t, d, "%s=%q", clockcheckEnv, v)
	return d, 0.02
}

// TestClock runs examples/clockcheck (3/4 of its time asleep, the rest
// spinning, on the guest's clock; 2 s unless clockcheckEnv says otherwise)
// and compares the guest's elapsed time with the host's between the
// program's two lines: they must agree within 5% (2% in the long mode).
// On microvm the TSC is calibrated against the PIT; on q35 against the
// HPET, checked with the ACPI PM timer, and on q35 without an HPET against
// the PM timer, checked with the PIT (both pairs share one calibration
// window). The goroutine time slices must be in force.
func TestClock(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	d, bound := clockcheckRun(t)
	for _, machine := range []string{"microvm", "q35", "q35,hpet=off"} {
		t.Run(machine, func(t *testing.T) {
			t.Parallel()
			b := s.image(t, "clockcheck", "", "clockcheck", nil, nil)
			require.NoError(t, b.err)
			const start, end = "clockcheck: start\n", " ms ("
			w := &stampWriter{want: []string{start, end}, times: map[string]time.Time{}}
			s.guests <- struct{}{}
			res, err := qemu.Run(t.Context(), qemu.Options{Image: b.path, Machine: machine,
				Append: "-- -d " + d.String(), Timeout: bootTimeout + d, Console: w})
			<-s.guests
			require.NoError(t, err)
			t.Logf("kernel log:\n%s", res.KernelLog)
			m := regexp.MustCompile(`clockcheck: elapsed (\d+) ms`).FindSubmatch(res.Output)
			require.NotNil(t, m, "output: %s", res.Output)
			guestMs, _ := strconv.Atoi(string(m[1]))
			hostMs := w.times[end].Sub(w.times[start]).Milliseconds()
			t.Logf("%s: guest %d ms, host %d ms between the lines (%+.2f%%)", machine, guestMs, hostMs,
				100*(float64(guestMs)-float64(hostMs))/float64(hostMs))
			assert.InEpsilon(t, hostMs, guestMs, bound, "guest %d ms, host %d ms", guestMs, hostMs)
			log := string(res.KernelLog)
			assert.Regexp(t, `clock: TSC \d+\.\d{3} GHz from (PIT|HPET|ACPI PM timer)`, log)
			switch machine {
			case "q35":
				assert.Contains(t, log, "from HPET, ACPI PM timer agrees within")
			case "q35,hpet=off":
				assert.Contains(t, log, "from ACPI PM timer, PIT agrees within")
			}
			assert.Contains(t, log, "time slices in force", "slices must be on with a trusted clock")
		})
	}
}

// TestMicrovmPanicRecord: a kernel panic (kfault=1) on microvm without
// isa-debug-exit still reaches the harness as a kernel panic, through the
// "exit status panic" record and the reset that follows it.
func TestMicrovmPanicRecord(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	b := s.image(t, "hello", "", "hello", nil, nil)
	require.NoError(t, b.err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: b.path, Machine: "microvm", NoDebugExit: true, Append: "kfault=1", Timeout: bootTimeout})
	require.ErrorIs(t, err, qemu.ErrKernelPanic)
	assert.True(t, res.Panic)
	assert.Contains(t, res.PanicReport, "reason: ")
	assert.Contains(t, string(res.KernelLog), "[gometal] exit status panic\n")
}

// TestMicrovmHTTPD serves examples/httpd on microvm without
// isa-debug-exit, through a virtio-net device on a virtio-mmio transport,
// and drives it from the host through hostfwd: 200 GETs on a keep-alive
// connection, a 4 MiB download checked byte for byte, a 1 MiB POST echo,
// then /quit and exit status 0 through the status record. Two ways to
// find the transport: the DSDT (2 CPUs; a level-triggered interrupt on
// the second I/O APIC), and with acpi=off the command line's
// virtio_mmio.device= as Firecracker passes it (an edge-triggered
// interrupt on the MP table's I/O APIC; microvm without ACPI puts its
// eight transports at 0xfeb00000 + 0x200*i on GSIs 5 to 12, devices from
// the last one down).
func TestMicrovmHTTPD(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	b := s.image(t, "httpd", "", "httpd", nil, nil)
	require.NoError(t, b.err)
	cases := []struct {
		name, machine, append, logWant string
		smp                            int
		vcon                           bool // with the virtio console on another transport
	}{
		{"acpi", "microvm", "", `virtio-mmio: 0x00000000feb02e00\+512, GSI 47 level \(ACPI\)`, 2, false},
		{"cmdline-acpioff", "microvm,acpi=off", "virtio_mmio.device=512@0xfeb00e00:12",
			`virtio-mmio: 0x00000000feb00e00\+512, GSI 12 edge \(command line\)`, 1, false},
		{"acpi-virtio-console", "microvm", "", `virtio console: ports 1 2 3 4`, 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			g := &guestServer{base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{}), token: randomToken(t)}
			w := &lineWatcher{want: "httpd: listening", seen: make(chan struct{})}
			go func() {
				defer close(g.done)
				g.result, g.err = qemu.Run(context.Background(), qemu.Options{
					Image: b.path, Machine: tc.machine, NoDebugExit: true, SMP: tc.smp, Mem: "256M",
					Append: tc.append + " -- -quit-token " + g.token,
					Net:    fmt.Sprintf("user,hostfwd=tcp:127.0.0.1:%d-:80", port), Timeout: 180 * time.Second, Console: w,
					VirtioConsole: tc.vcon, Stdout: w,
				})
			}()
			select {
			case <-w.seen:
			case <-g.done:
				t.Fatalf("httpd ended before listening: %v\n%s", g.err, g.result.Console)
			case <-time.After(60 * time.Second):
				t.Fatal("httpd did not start listening within 60s")
			}
			client := &http.Client{Timeout: 60 * time.Second, Transport: hostfwdTransport()}
			get := func(path string) []byte {
				resp, err := client.Get(g.base + path)
				require.NoError(t, err, "GET %s", path)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err, "GET %s", path)
				require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
				return body
			}
			for i := range 200 {
				require.Contains(t, string(get("/")), "hello from gometal", "GET %d", i)
			}
			const n = 4 << 20
			body := get(fmt.Sprintf("/bytes?n=%d", n))
			require.Len(t, body, n)
			require.True(t, patternOK(body, n), "the 4 MiB body differs from the pattern")
			data := make([]byte, 1<<20)
			rand.Read(data)
			resp, err := client.Post(g.base+"/echo", "application/octet-stream", bytes.NewReader(data))
			require.NoError(t, err)
			echoed, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, echoed), "echo returned %d bytes, want the 1 MiB sent", len(echoed))
			get("/quit?token=" + g.token)
			res := g.wait(t)
			assert.Equal(t, 0, res.ExitCode)
			log := string(res.KernelLog)
			assert.Regexp(t, tc.logWant, log)
			assert.Regexp(t, `virtio-net mmio 0x[0-9a-f]+: MAC [0-9a-f:]+, link up`, log)
			assert.Contains(t, log, "[gometal] exit status 0")
		})
	}
}

// TestClockSources boots hello on microvm without a PIT (the TSC is then
// timed against the RTC's one-second update) and without PIT or RTC (no
// source: the kernel guesses, says the clock is untrusted and refuses the
// goroutine time slices). Output and exit status match the host's either
// way.
func TestClockSources(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	cases := []struct {
		name, machine string
		want          []string
	}{
		{"rtc", "microvm,pit=off", []string{"clock: TSC ", " from RTC (no second source to cross-check)", "time slice"}},
		{"none", "microvm,pit=off,rtc=off", []string{
			"clock: no source for the TSC frequency (no HPET, PM timer, PIT or RTC answered): guessing 1 GHz, untrusted",
			"refusing goroutine time slices: the clock is untrusted (no clock source)",
			"warning: no RTC"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.boot(t, "hello", bootCase{machine: tc.machine, check: func(t *testing.T, res *qemu.Result) {
				for _, w := range tc.want {
					assert.Contains(t, string(res.KernelLog), w)
				}
			}})
		})
	}
}
