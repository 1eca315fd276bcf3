//go:build linux

package acpi

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// sparseWindow returns a zeroed window of physical memory [0, size) backed
// by an anonymous mapping that commits only the pages written, so that
// captures with tables near 4 GiB cost only their own pages.
func sparseWindow(t *testing.T, size uint64) []byte {
	size = (size + 0xfff) &^ 0xfff
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Munmap(b) })
	return b
}
