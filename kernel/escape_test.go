package kernel

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ring3Drivers are driver packages that only kernel goroutines use
// (kernel/knet): ordinary Go, free to allocate.
var ring3Drivers = map[string]bool{
	"github.com/gometal/gometal/drivers/virtio":       true,
	"github.com/gometal/gometal/drivers/fbcon/fbtext": true, // reads screens back, for tests
}

// TestNoHeapEscapes compiles the packages that run in trap context with the
// compiler's escape analysis report and fails on any value that would be
// heap-allocated: the kernel runs before the Go runtime exists and under
// it without an M or P, so an allocation there is a crash.
func TestNoHeapEscapes(t *testing.T) {
	pkgs := []string{".", "./cpu", "./mm", "./abi", "../sched", "../boot"}
	drivers, err := exec.Command("go", "list", "../drivers/...").Output()
	require.NoError(t, err)
	for _, p := range strings.Fields(string(drivers)) {
		if !ring3Drivers[p] {
			pkgs = append(pkgs, p)
		}
	}
	cmd := exec.Command("go", append([]string{"build", "-gcflags=-m"}, pkgs...)...)
	cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	bad := regexp.MustCompile(`(escapes to heap|moved to heap)`)
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		if bad.MatchString(line) && !strings.Contains(line, "_test.go") {
			found = append(found, line)
		}
	}
	require.Empty(t, found, "trap-context code must not allocate")
}
