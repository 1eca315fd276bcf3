package hang

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestHang opens a FIFO that no one writes to: the open waits forever.
func TestHang(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
