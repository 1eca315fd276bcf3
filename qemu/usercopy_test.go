package qemu_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// examples/usercopy makes clock_gettime write its timespec where the
// kernel's lock-free path cannot: the output must be Linux's (the fresh
// pages filled in, EFAULT for PROT_NONE, read-only and unmapped ones, 0 or
// EFAULT while another thread empties and protects the page), and
// the guest's own last line must show that the fault-tolerant stores took
// and fixed up page faults (user_access_faults in /proc/gometal/sched).
func init() {
	bootCases["usercopy"] = usercopyCase
}

var usercopyCase = bootCase{smp: 2, trim: dropGometalLines, check: userAccessFaultsOK}

// gometalLine is a guest-only line of examples/usercopy.
var gometalLine = regexp.MustCompile(`(?m)^gometal: .*\n`)

// dropGometalLines removes the guest-only lines before the outputs are
// compared.
func dropGometalLines(out []byte) []byte { return gometalLine.ReplaceAll(out, nil) }

// userAccessFaultsOK checks the guest's count of fixed-up faults: the
// fresh page, the fresh second half of a straddling timespec, the
// untouched PROT_NONE page, the unmapped page and the unmapped second
// half each fault in the lock-free path (the other two cases are refused
// before the store), so at least 5, and the race adds some. Without the
// fixup, the first of them would have been a kernel panic; with the fixup
// bypassed, 0.
func userAccessFaultsOK(t *testing.T, res *qemu.Result) {
	m := regexp.MustCompile(`(?m)^gometal: user_access_faults grew by (\d+)$`).FindSubmatch(res.Output)
	require.NotNil(t, m, "no user_access_faults line in the guest's output:\n%s", res.Output)
	n, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	t.Logf("user-access faults fixed up: %d", n)
	assert.GreaterOrEqual(t, n, 5, "every case that must fault in the lock-free path did")
}

// TestUserAccessFaultsBoot boots examples/usercopy (the case TestBoot
// runs too), for running it alone.
func TestUserAccessFaultsBoot(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	s.boot(t, "usercopy", usercopyCase)
}
