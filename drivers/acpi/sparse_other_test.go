//go:build !linux

package acpi

import "testing"

// sparseWindow returns a zeroed window of physical memory [0, size);
// without Linux's lazily committed mappings, large windows are skipped.
func sparseWindow(t *testing.T, size uint64) []byte {
	if size > 1<<30 {
		t.Skipf("a %d-byte window needs Linux", size)
	}
	return make([]byte, size)
}
