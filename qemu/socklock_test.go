package qemu_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSocketLockBoot boots qemu/testdata/socklock on 2 CPUs: 4 threads
// each write 64 KiB in 256-byte writes into a loopback TCP connection of
// their own, with write(2) on its non-blocking descriptor, while the
// server side reads the 4 connections to the end. What the servers
// received must equal the host's run of the same program byte for byte,
// and over the writes the files lock must have been held shared for
// them (socket.StreamIO, each under its socket's own lock) and
// exclusively only for the network stack's side of the sockets (its
// reads of /dev/netctl and its moves of the data), far fewer times than
// the program wrote. Before the sockets' reads and writes held it
// shared, each held it exclusively.
func TestSocketLockBoot(t *testing.T) {
	want, res := bootBesideHost(t, "./qemu/testdata/socklock")
	got, tail, ok := strings.Cut(string(res.Output), "socklock: files lock ")
	require.True(t, ok, "no files-lock line in the guest's output:\n%s", res.Output)
	assert.Equal(t, string(want), got, "guest output differs from the host's")
	var exclusive, shared uint64
	_, err := fmt.Sscanf(tail, "exclusive %d shared %d\n", &exclusive, &shared)
	require.NoError(t, err, "%q", tail)
	t.Logf("writes: files lock exclusive %d, shared %d", exclusive, shared)
	const writes = 4 * 256
	assert.GreaterOrEqual(t, shared, uint64(writes), "the writes held the files lock shared")
	assert.Less(t, exclusive, uint64(writes/4), "the writes held the files lock exclusively")
}
