package qemu_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Thread life-cycle tests: qemu/testdata/threads, booted with one of its
// checks as its argument.

// bootThreads boots the threads program with append and returns the result.
func bootThreads(t *testing.T, smp int, append string) (*qemu.Result, error) {
	img := filepath.Join(t.TempDir(), "threads.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/threads", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: smp, Append: append, Timeout: 90 * time.Second})
	if res != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("kernel log:\n%s\nconsole:\n%s", res.KernelLog, res.Console)
			}
		})
	}
	return res, err
}

// TestThreadExitRunning: a thread that calls exit(2) is counted off the
// CPU once. The running count the deadlock detector trusts used to drop
// twice per exit (in exitThread and again in reschedule).
func TestThreadExitRunning(t *testing.T) {
	res, err := bootThreads(t, 2, "-- exit")
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Output), "threads exit: ok\n")
}

// TestShootdownUnanswered boots 2 CPUs with tlbfault=1: CPU 1 takes a TLB
// shootdown IPI and never answers, as a CPU a ring-3 CLI stopped would.
// The munmapping CPU used to spin forever with the kernel lock held; it
// must give up after a second with a kernel panic report naming CPU 1.
// The same program without the fault runs to its end.
func TestShootdownUnanswered(t *testing.T) {
	t.Run("fault", func(t *testing.T) {
		res, err := bootThreads(t, 2, "tlbfault=1 -- munmap")
		require.ErrorIs(t, err, qemu.ErrKernelPanic)
		require.NotNil(t, res)
		assert.Contains(t, string(res.KernelLog), "tlbfault=1: cpu 1 will not answer TLB shootdowns")
		// The CPU spins with interrupts off: the shooter's NMI probe finds
		// it running (it takes NMIs), so the panic says why it never answers.
		assert.Regexp(t, `reason: TLB shootdown: cpu 1 \(APIC id 1\) did not answer within 1000(\.0+)? ms: it took an NMI, so it runs, with interrupts off`, res.PanicReport)
	})
	t.Run("control", func(t *testing.T) {
		res, err := bootThreads(t, 2, "-- munmap")
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Contains(t, string(res.Output), "threads munmap: ok\n")
	})
}

// TestNMIIgnored boots one CPU that computes in ring 3 for 2 s and then
// idles in the kernel for 2 s, and injects an NMI every 150 ms through
// QEMU's monitor (its nmi command raises LINT1, which only the boot CPU
// has set up as NMI, hence one CPU). An NMI is not the program's fault: it
// used to become a SIGSEGV in ring 3 and a kernel panic in ring 0 (and,
// on the boot CPU, whose IST stack lay below its kernel stack, a reset);
// now the kernel logs it and the program runs on.
func TestNMIIgnored(t *testing.T) {
	dir, err := os.MkdirTemp("", "nmi")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "mon")
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var conn net.Conn
		for i := 0; i < 600 && conn == nil; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			conn, _ = net.Dial("unix", sock)
		}
		if conn == nil {
			return
		}
		defer conn.Close()
		// The first NMIs wait until the kernel has its IDT: before, one
		// is a triple fault (the boot takes well under a second).
		first := time.After(1500 * time.Millisecond)
		for {
			select {
			case <-stop:
				return
			case <-first:
				first = nil
				continue
			case <-time.After(150 * time.Millisecond):
				if first != nil {
					continue
				}
			}
			if _, err := fmt.Fprintf(conn, "nmi\n"); err != nil {
				return
			}
		}
	}()
	img := filepath.Join(t.TempDir(), "threads.img")
	_, err = image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/threads", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 1, Append: "-- spin", Timeout: 90 * time.Second,
		Extra: []string{"-monitor", "unix:" + sock + ",server=on,wait=off"}, NoStallReport: true})
	close(stop)
	<-done
	require.NoError(t, err)
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", res.Console)
		}
	}()
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Output), "threads spin: ok\n")
	assert.Regexp(t, `NMI on cpu 0 at rip 0x[0-9a-f]+ in ring 0: ignored`, string(res.KernelLog), "an NMI in the kernel")
	// TCG takes a pending NMI at its next interrupt check, which a CPU
	// computing in ring 3 may reach only on its next trap: one taken in
	// ring 3 is likely but not certain.
	if !regexp.MustCompile(`NMI on cpu 0 at rip 0x[0-9a-f]+ in ring 3: ignored`).Match(res.KernelLog) {
		t.Log("no NMI arrived in ring 3 this time")
	}
}

// TestThreadSpread boots 4 CPUs and starts 8 locked threads that each
// compute for 30 ms and note, from /proc/gometal/sched, the CPU they run
// on: new threads are placed on idle or lightly loaded CPUs, so they must
// be seen on more than one.
func TestThreadSpread(t *testing.T) {
	res, err := bootThreads(t, 4, "-- spread")
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Regexp(t, `threads spread: ran on [2-4] CPUs\n`, string(res.Output))
}

// TestProcessCPUTime: threads that compute and exit, round after round;
// CLOCK_PROCESS_CPUTIME_ID must never go backwards. It summed the thread
// slots, so a slot reused by a new thread lost the old thread's time.
func TestProcessCPUTime(t *testing.T) {
	res, err := bootThreads(t, 2, "-- cputime")
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Output), "threads cputime: ok\n")
}
