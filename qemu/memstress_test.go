package qemu_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memstress (examples/memstress) runs memory system calls, page faults,
// heap churn, file and pipe calls and deliberate faults on every CPU at
// once, for the kernel's memory lock (issue 18). TestBoot runs it on 4
// CPUs, TestSMPExamples on 1 and TestSMPMemstress on 2; each compares the
// guest's "memstress: ok" with the host's, the round counts aside.
func init() {
	bootCases["memstress"] = memstressCase(4, "2s")
}

// memstressCase is the memstress boot case on n CPUs: d of work (a Go
// duration), compared with a host run of the same length.
func memstressCase(n int, d string) bootCase {
	return bootCase{smp: n, mem: "256M", append: "-- -d " + d, args: []string{"-d", d}, trim: memstressRounds, check: memstressOK}
}

// memstressRoundsLine is the line of round counts, which differ from run
// to run.
var memstressRoundsLine = regexp.MustCompile(`(?m)^memstress: \d+ rounds on \d+ CPUs \(.*, seed \d+\n`)

// memstressRounds drops the round counts from an output.
func memstressRounds(out []byte) []byte { return memstressRoundsLine.ReplaceAll(out, nil) }

// memstressOK accepts a guest run that passed every check with every
// kind of worker at work.
func memstressOK(t *testing.T, res *qemu.Result) {
	assert.Equal(t, 0, res.ExitCode)
	out := string(res.Output)
	assert.Contains(t, out, "memstress: ok\n")
	assert.NotContains(t, out, "FAIL")
	rounds := memstressRoundsLine.FindString(out)
	assert.NotEmpty(t, rounds, "the round counts")
	for _, kind := range []string{"mmap", "heap", "shootdown", "race", "share", "files", "copy", "zapcopy", "faults"} {
		assert.Regexp(t, `[(, ]`+kind+` [1-9]\d*[,)]`, rounds, "every kind of worker finished a round")
	}
}

// TestSMPMemstress runs memstress for 5 s on 2 CPUs (TestBoot runs it
// for 2 s on 4, TestSMPExamples on 1), printing /proc/gometal/sched at
// the end (-sched), which the comparison with the host leaves out. The
// zapcopy worker's madvise calls give back pages that the kernel's
// copies beside them use: they must run under the memory lock alone
// (madvise_beside; memcalls.AdviseFree), none on the kernel lock's
// path, and its checks (every byte the file's or zero) must pass. A
// copy that finds a page given back faults it in from ring 0
// (kernel_demand_faults): whether one does depends on how the two
// threads' CPUs interleave, so the count is logged, not required (77 and
// 47 in the first two boots, 261 in a ten-minute run); a refault that
// went wrong fails the copy's checks or panics the kernel. Longer runs:
// gometal run, as docs/architecture.md says.
func TestSMPMemstress(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	c := memstressCase(2, "5s")
	c.tag = "smp2"
	c.append += " -sched"
	c.args = append(c.args, "-sched")
	c.trim = func(out []byte) []byte { return memstressSched.ReplaceAll(memstressRounds(out), nil) }
	c.check = func(t *testing.T, res *qemu.Result) {
		memstressOK(t, res)
		sched := memstressSched.FindString(string(res.Output))
		require.NotEmpty(t, sched, "no /proc/gometal/sched in the guest's output")
		beside := schedCount(t, sched, "madvise_beside")
		assert.Positive(t, beside, "madvise calls that gave pages back beside the other locks")
		assert.NotRegexp(t, `(?m)^locked_syscall madvise `, sched, "a madvise on the kernel lock's path")
		t.Logf("madvise beside the other locks %d, kernel demand faults %d", beside, schedCount(t, sched, "kernel_demand_faults"))
	}
	s.boot(t, "memstress", c)
}

// memstressSched is the /proc/gometal/sched text memstress -sched prints.
var memstressSched = regexp.MustCompile(`(?s)memstress: sched\n.*memstress: sched end\n`)

// schedCount returns the count on /proc/gometal/sched's line for name.
func schedCount(t *testing.T, sched, name string) uint64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` +(\d+)$`).FindStringSubmatch(sched)
	require.NotNil(t, m, "no %s line in /proc/gometal/sched:\n%s", name, sched)
	n, err := strconv.ParseUint(m[1], 10, 64)
	require.NoError(t, err)
	return n
}
