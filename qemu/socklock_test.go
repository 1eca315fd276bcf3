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
// them (socket.SocketIO, each under its socket's own lock) and for the
// network stack's side of the sockets (its reads of /dev/netctl and its
// moves of the data, each socket's under its lock), exclusively only
// for the measure's own reads of /proc. Before the sockets' reads and
// writes held it shared, each held it exclusively; before the stack's
// side did, its reads and moves did. Then 4 goroutines dial 32 loopback
// connections to a server that answers each and closes: every answer
// must come back right, and package net's option and name calls
// (setsockopt, getsockopt, getsockname, getpeername), the server's
// accept4 (its listener is non-blocking), the client's shutdown
// (CloseWrite), socket and connect (non-blocking) must not take the
// kernel lock's path, nor most closes (they hold the files lock
// shared). Then UDP sockets connect and exchange datagrams with a
// loopback echo server, and send datagrams off the host: the connects,
// reads, writes, recvfroms, recvmsgs and sends must not take the
// kernel lock's path.
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
	// While the stack's reads of /dev/netctl and its moves held the
	// files lock exclusively, the stage held it so 11 to 14 times (four
	// boots); since they hold it shared, 5 and 6 (four boots): the
	// measure's reads of /proc (TestFileLockBoot's empty stage holds 5).
	assert.Less(t, exclusive, uint64(10), "the writes or the stack's side held the files lock exclusively")

	// The connections stage: 4 goroutines dial 8 loopback connections
	// each, one after another, to a server that answers and closes.
	// Package net's option and name calls on each (setsockopt
	// TCP_NODELAY and the keep-alive options, getsockopt SO_ERROR,
	// getsockname, getpeername) and the server's accept4 are served
	// under the files lock held shared, beside other CPUs' calls, none
	// on the kernel lock's path.
	_, stage, ok := strings.Cut(tail, "socklock: connections stage: ")
	require.True(t, ok, "no connections stage line:\n%s", tail)
	var connExclusive, connShared uint64
	_, err = fmt.Sscanf(stage, "files lock exclusive %d shared %d\n", &connExclusive, &connShared)
	require.NoError(t, err, "%q", stage)
	t.Logf("connections: files lock exclusive %d, shared %d", connExclusive, connShared)
	_, sched, ok := strings.Cut(tail, "socklock: sched\n")
	require.True(t, ok, "no /proc/gometal/sched in the guest's output:\n%s", tail)
	calls := lockedCalls(t, sched)
	t.Logf("on the kernel lock's path: setsockopt %d, getsockopt %d, getsockname %d, getpeername %d, socket %d, connect %d, accept4 %d, shutdown %d, close %d",
		calls["setsockopt"], calls["getsockopt"], calls["getsockname"], calls["getpeername"], calls["socket"], calls["connect"], calls["accept4"], calls["shutdown"], calls["close"])
	for _, name := range []string{"setsockopt", "getsockopt", "getsockname", "getpeername", "accept4", "shutdown", "socket", "connect"} {
		assert.Zero(t, calls[name], "%s took the kernel lock's path", name)
	}
	// The sockets' closes are served beside other calls too: the 64 of
	// the stage's connections would be on the kernel lock's path (85
	// closes over the boot before, 8 since: the others' closes).
	assert.Less(t, calls["close"], uint64(32), "the sockets' closes took the kernel lock's path")
	// Before they were shared the stage held the files lock exclusively
	// 1,307 and 1,317 times (two boots; 510 of the calls above on the
	// kernel lock's path), after 850 and 863; with the stack's reads of
	// /dev/netctl and its data moves shared too (2026-12-07), 337 to 345
	// (four boots; 841 to 874 in four boots just before); with accept4
	// shared too, 292 and 293 (five boots; 58 to 62 accept4s had taken
	// the kernel lock's path); with the sockets' closes and the stack's
	// releases of closed sockets shared too, 165 (four boots); with the
	// shutdowns (the client's CloseWrite) shared too, 133 (three boots);
	// with the client's socket calls shared too, 101 (three boots); with
	// the stack's new connections (NetCtlAccepted) shared too, 69 (three
	// boots); with the stack's connect outcomes (NetCtlSetState, no
	// thread waiting) shared too, 37 (three boots); with the connects
	// shared too, 5 (three boots): the measure's own reads of /proc
	// (TestFileLockBoot's empty stage holds 5).
	assert.Less(t, connExclusive, uint64(10), "the option and name calls, the accepts, the shutdowns, the closes, the sockets' making, the connects, or the stack's reads, moves, releases, new connections and connect outcomes held the files lock exclusively")

	// The datagrams stage: 4 goroutines each connect a UDP socket to a
	// loopback echo server and send it 8 datagrams with write(2), reading
	// each echo with read(2) or recvmsg in turn, and the server reads
	// with recvfrom and echoes with sendto; then 16 sendtos and sendmsgs
	// go off the host. The connects, the reads, recvfroms and recvmsgs
	// and the sends, local (into the receiver's ring) or off the host,
	// are served under the files lock held shared. Before, each of them
	// took the kernel lock's path.
	_, dstage, ok := strings.Cut(tail, "socklock: datagrams stage: ")
	require.True(t, ok, "no datagrams stage line:\n%s", tail)
	var dgramExclusive, dgramShared, offHost uint64
	_, err = fmt.Sscanf(dstage, "files lock exclusive %d shared %d off-host sends %d\n", &dgramExclusive, &dgramShared, &offHost)
	require.NoError(t, err, "%q", dstage)
	require.Equal(t, uint64(16), offHost, "the off-host sendtos ran")
	t.Logf("datagrams: files lock exclusive %d, shared %d; on the kernel lock's path: sendto %d, recvfrom %d, sendmsg %d, recvmsg %d",
		dgramExclusive, dgramShared, calls["sendto"], calls["recvfrom"], calls["sendmsg"], calls["recvmsg"])
	assert.Zero(t, calls["recvfrom"], "recvfrom took the kernel lock's path")
	assert.Zero(t, calls["recvmsg"], "recvmsg took the kernel lock's path")
	assert.Zero(t, calls["sendmsg"], "sendmsg off the host took the kernel lock's path")
	assert.Zero(t, calls["sendto"], "sendto took the kernel lock's path")
	// 195 before any of them was shared, 71 with the sends to a local
	// address still on the locked path, 7 since (one boot each): the
	// stage's two binds and the measure's five reads of /proc.
	assert.Less(t, dgramExclusive, uint64(12), "the datagram calls held the files lock exclusively")
}
