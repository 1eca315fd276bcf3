package qemu_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryMinimum boots examples/hello with the least memory the rule
// (abi.MinMemory, which gometal run and info apply) allows, where it must
// run, and with 1 MiB less, where the kernel must refuse to start the
// program with its one "not enough memory" line and status 2 rather than
// let the Go runtime die of "out of memory" with a stack trace.
func TestMemoryMinimum(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	b := s.image(t, "hello", "", "hello", nil)
	require.NoError(t, b.err, "image build")
	elf, err := os.ReadFile(b.path)
	require.NoError(t, err)
	info, err := image.Inspect(elf)
	require.NoError(t, err)
	var end uint64
	for _, l := range info.Loads {
		end = max(end, l.Paddr+l.Memsz)
	}
	minMiB := abi.MinMemory(end, 0, 1) >> 20
	t.Logf("hello's image ends at %#x: minimum %d MiB", end, minMiB)

	t.Run("below", func(t *testing.T) {
		s.boot(t, "hello", bootCase{guestOnly: true, tag: "below", mem: fmt.Sprintf("%dM", minMiB-1), check: func(t *testing.T, res *qemu.Result) {
			assert.Equal(t, 2, res.ExitCode)
			assert.Regexp(t, `\[gometal\] not enough memory: \d+ KiB left for the program, the Go runtime needs 40960 KiB on 1 CPU; boot with at least \d+ MiB`, string(res.KernelLog))
			assert.Contains(t, string(res.KernelLog), fmt.Sprintf("boot with at least %d MiB (-m %dM)", minMiB, minMiB))
			assert.Empty(t, string(res.Output), "the program must not have started")
		}})
	})
	t.Run("minimum", func(t *testing.T) {
		s.boot(t, "hello", bootCase{guestOnly: true, tag: "min", mem: fmt.Sprintf("%dM", minMiB), check: func(t *testing.T, res *qemu.Result) {
			assert.Equal(t, 0, res.ExitCode)
			assert.Contains(t, string(res.Output), "hello, world\n")
			assert.NotContains(t, string(res.KernelLog), "not enough memory")
		}})
	})
}
