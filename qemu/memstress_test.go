package qemu_test

import (
	"regexp"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
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
	for _, kind := range []string{"mmap", "heap", "shootdown", "race", "share", "files", "copy", "faults"} {
		assert.Regexp(t, `[(, ]`+kind+` [1-9]\d*[,)]`, rounds, "every kind of worker finished a round")
	}
}

// TestSMPMemstress runs memstress for 5 s on 2 CPUs (TestBoot runs it
// for 2 s on 4, TestSMPExamples on 1). Longer runs: gometal run, as
// docs/architecture.md says.
func TestSMPMemstress(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	c := memstressCase(2, "5s")
	c.tag = "smp2"
	s.boot(t, "memstress", c)
}
