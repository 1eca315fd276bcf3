package qemu_test

import (
	"path/filepath"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBootProtocol boots examples/hello from images that carry only one
// boot protocol: QEMU's -kernel takes the multiboot header when there is
// one, so the PVH-only image is what exercises the PVH entry (the path
// microVM monitors use). The kernel names the protocol it was entered
// through in its first log line; the output must match the host's.
func TestBootProtocol(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	s := newBootSuite(t, root)
	for boot, line := range map[string]string{
		image.BootPVH:       "[gometal] booting: PVH,",
		image.BootMultiboot: "[gometal] booting: multiboot,",
	} {
		t.Run(boot, func(t *testing.T) {
			t.Parallel()
			s.boot(t, "hello", bootCase{mem: "64M", boot: boot, tag: boot, check: func(t *testing.T, res *qemu.Result) {
				assert.Contains(t, string(res.KernelLog), line, "kernel log")
			}})
		})
	}
}
