package qemu_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() {
	// examples/inet6: IPv6 and raw IP sockets over loopback, compared with
	// the host. The host run needs IPv6 on lo and root (the raw ICMP
	// socket); without them the guest is compared with the output Linux
	// gave, kept in examples/inet6/want.txt.
	if hostHasInet6() {
		bootCases["inet6"] = bootCase{}
		return
	}
	bootCases["inet6"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		want, err := os.ReadFile(filepath.Join("..", "examples", "inet6", "want.txt"))
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Equal(t, string(want), string(res.Output))
	}}
}

// hostHasInet6 reports whether this host can run examples/inet6: ::1 on
// lo and the right to open raw sockets.
func hostHasInet6() bool {
	if os.Geteuid() != 0 {
		return false
	}
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
