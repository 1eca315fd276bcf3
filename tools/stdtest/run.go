package stdtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options configures Run.
type Options struct {
	// Gometal is the gometal binary that runs "gometal test".
	Gometal string
	// RawDir, if not "", keeps each event stream as
	// RawDir/{host,guest}/PKG.json (PKG with / as _).
	RawDir string
	// Reuse takes a stream already in RawDir instead of running the
	// command again.
	Reuse bool
	// Timeout is go test's -timeout for each package, host and guest.
	Timeout time.Duration
	// QEMUTimeout is gometal test's --timeout: QEMU's wall-clock limit.
	QEMUTimeout time.Duration
	// Mem is the guest memory.
	Mem string
	// SMP is the guest's CPUs (gometal test's --smp); 0 leaves them to
	// gometal test's default.
	SMP int
	// Dir is the directory both commands run in ("" is os.TempDir(),
	// outside any module).
	Dir string
	// Progress, if not nil, gets a line per package.
	Progress io.Writer
}

// HostEnv is added to the host's environment: gometal builds images
// with cgo off, so the host builds the tests the same way (a test that
// only a cgo build has would otherwise count as missing in the guest).
var HostEnv = []string{"CGO_ENABLED=0"}

// HostArgs is the host's go command line for pkg.
func (o Options) HostArgs(pkg string) []string {
	return []string{"go", "test", "-json", "-short", "-count=1", "-p", "1", "-timeout", o.Timeout.String(), pkg}
}

// GuestArgs is the gometal test command line for pkg (without the
// binary).
func (o Options) GuestArgs(pkg string) []string {
	args := []string{"test", "-json", "-short", "-p", "1", "-timeout", o.Timeout.String(),
		"--timeout", o.QEMUTimeout.String(), "--mem", o.mem(pkg)}
	if o.SMP > 0 {
		args = append(args, "--smp", strconv.Itoa(o.SMP))
	}
	return append(args, pkg)
}

// mem is pkg's guest memory: PackageMem's, or o.Mem.
func (o Options) mem(pkg string) string {
	if m, ok := PackageMem[pkg]; ok {
		return m
	}
	return o.Mem
}

// Run runs the tests of each package on the host and in the guest, one
// package at a time, and compares them with table.
func Run(ctx context.Context, pkgs []string, table []Exclusion, o Options) ([]Row, error) {
	dir := o.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	var rows []Row
	for _, pkg := range pkgs {
		start := time.Now()
		hostArgs := o.HostArgs(pkg)
		host, hostReused, err := o.stream(ctx, dir, "host", pkg, HostEnv, hostArgs[0], hostArgs[1:])
		if err != nil {
			return rows, err
		}
		guest, guestReused, err := o.stream(ctx, dir, "guest", pkg, nil, o.Gometal, o.GuestArgs(pkg))
		if err != nil {
			return rows, err
		}
		row := Compare(Tally(pkg, host), Tally(pkg, guest), table)
		row.Reused = hostReused || guestReused
		rows = append(rows, row)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%-16s host %d/%d/%d guest %s %d/%d/%d excluded %d missing %d (%v)\n", pkg,
				row.HostCounts.Passed, row.HostCounts.Failed, row.HostCounts.Skipped, packageStatus(row.Guest),
				row.GuestCounts.Passed, row.GuestCounts.Failed, row.GuestCounts.Skipped,
				len(row.Excluded), len(row.Missing), time.Since(start).Round(time.Second))
		}
	}
	return rows, ctx.Err()
}

// RawName is the file name of pkg's stream in a raw directory.
func RawName(pkg string) string {
	return strings.ReplaceAll(pkg, "/", "_") + ".json"
}

// stream runs one command (env added to the environment) and parses its go test -json events, keeping
// or reusing them under o.RawDir/side (then reused is true). The
// command's exit status is not an error: a failing package is a result.
func (o Options) stream(ctx context.Context, dir, side, pkg string, env []string, name string, args []string) (evs []Event, reused bool, err error) {
	var raw string
	if o.RawDir != "" {
		raw = filepath.Join(o.RawDir, side, RawName(pkg))
		if o.Reuse {
			if data, err := os.ReadFile(raw); err == nil && len(data) > 0 {
				evs, err := ParseEvents(bytes.NewReader(data))
				return evs, true, err
			}
		}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		return nil, false, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	if stderr.Len() > 0 {
		// Not JSON: kept as output of no test.
		stdout.Write(stderr.Bytes())
	}
	if raw != "" {
		if err := os.MkdirAll(filepath.Dir(raw), 0o755); err != nil {
			return nil, false, err
		}
		if err := os.WriteFile(raw, stdout.Bytes(), 0o644); err != nil {
			return nil, false, err
		}
	}
	evs, err = ParseEvents(bytes.NewReader(stdout.Bytes()))
	return evs, false, err
}
