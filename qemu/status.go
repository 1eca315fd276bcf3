package qemu

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Errors reported by [Run]; test them with errors.Is.
var (
	// ErrKernelPanic: QEMU exited with status 255 (the kernel wrote 127 to
	// the debug-exit port), or the console holds a kernel panic report.
	ErrKernelPanic = errors.New("kernel panic")
	// ErrNoStatus: QEMU exited with status 0, which the debug-exit device
	// cannot produce: a triple fault, reset or power-off (-no-reboot), and
	// the console holds no status record.
	ErrNoStatus = errors.New("guest reset or powered off without an exit status")
	// ErrTimeout: the guest did not exit within Options.Timeout.
	ErrTimeout = errors.New("timeout")
	// ErrNoQEMU: the QEMU binary is not installed.
	ErrNoQEMU = errors.New("QEMU not found; install it with: apt-get install -y qemu-system-x86")
	// ErrQEMU: QEMU itself failed (bad arguments, unloadable image, killed).
	ErrQEMU = errors.New("qemu failed")
)

// PanicStatus is the QEMU exit status of a kernel panic: (127 << 1) | 1.
const PanicStatus = 255

// DecodeStatus maps QEMU's exit status to the guest program's exit code
// (docs/protocols.md): an odd status s is the program's exit (s-1)/2, 255
// is a kernel panic, 0 a reset without status; any other even status is
// not something the debug-exit device produces and means QEMU failed.
// The code is -1 whenever err is not nil.
func DecodeStatus(status int) (code int, err error) {
	switch {
	case status == PanicStatus:
		return -1, ErrKernelPanic
	case status == 0:
		return -1, ErrNoStatus
	case status > 0 && status < PanicStatus && status%2 == 1:
		return (status - 1) / 2, nil
	default:
		return -1, fmt.Errorf("%w: exit status %d", ErrQEMU, status)
	}
}

// StatusRecord starts the kernel's exit status record, the last line it
// prints before it stops the machine: "[gometal] exit status N" (N the
// program's exit status, 0 to 255) or "[gometal] exit status panic"
// (docs/protocols.md). The harness reads it when QEMU exits without a
// debug-exit status (no isa-debug-exit device, Options.NoDebugExit).
const StatusRecord = "[gometal] exit status "

// ParseStatusRecord returns the status in the kernel log's last status
// record: the program's exit code, or panicked for a kernel panic. ok is
// false when the log holds no well-formed record.
func ParseStatusRecord(kernelLog []byte) (code int, panicked, ok bool) {
	lines := bytes.Split(kernelLog, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		line := bytes.TrimRight(lines[i], "\r")
		v, found := bytes.CutPrefix(line, []byte(StatusRecord))
		if !found {
			continue
		}
		if string(v) == "panic" {
			return -1, true, true
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 || n > 255 || string(v) != strconv.Itoa(n) {
			return -1, false, false
		}
		return n, false, true
	}
	return -1, false, false
}
