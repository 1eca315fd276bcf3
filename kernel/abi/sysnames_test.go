package abi

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyscallNamesUpToDate regenerates sysnames.go into a temporary file
// and compares: a go.mod bump of golang.org/x/sys needs "go generate".
func TestSyscallNamesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator (go run)")
	}
	tmp := filepath.Join(t.TempDir(), "sysnames.go")
	out, err := exec.Command("go", "run", "gen_sysnames.go", "-o", tmp).CombinedOutput()
	require.NoError(t, err, "%s", out)
	want, err := os.ReadFile(tmp)
	require.NoError(t, err)
	got, err := os.ReadFile("sysnames.go")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "sysnames.go is stale: run go generate ./kernel/abi")
}

// TestSyscallNames checks a few well-known numbers and the edges.
func TestSyscallNames(t *testing.T) {
	for nr, name := range map[uint64]string{
		0: "read", 1: "write", 60: "exit", 202: "futex", 257: "openat",
		332: "statx", 425: "io_uring_setup", 435: "clone3",
	} {
		assert.Equal(t, name, SyscallName(nr), "system call %d", nr)
	}
	assert.Empty(t, SyscallName(340), "no Linux call has number 340")
	assert.Empty(t, SyscallName(NumSyscalls))
	assert.Empty(t, SyscallName(^uint64(0)))
}
