package kernel

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// module is the import path prefix of this repository's packages.
const module = "github.com/gometal/gometal/"

// trapRoots are the trees whose packages run in trap context.
var trapRoots = []string{"kernel", "sched", "boot", "drivers"}

// ring3Dir is the directory segment that marks ring-3 code: a package
// with it in its import path runs only as ordinary goroutines (the
// kernel's drivers and services, kernel/ring3/...) and may allocate.
const ring3Dir = "ring3"

// isRing3 reports whether the package with this import path is under a
// ring-3 directory.
func isRing3(path string) bool {
	for _, seg := range strings.Split(strings.TrimPrefix(path, module), "/") {
		if seg == ring3Dir {
			return true
		}
	}
	return false
}

// trapPackages lists, with go list, every package under the trap roots
// that is not under a ring-3 directory: the rule follows the directory,
// so a new package is checked without being named here.
func trapPackages(t *testing.T) []string {
	var patterns []string
	for _, r := range trapRoots {
		patterns = append(patterns, "../"+r+"/...")
	}
	out, err := exec.Command("go", append([]string{"list"}, patterns...)...).Output()
	require.NoError(t, err)
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if !isRing3(p) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// TestEscapeRuleFollowsDirectory checks the rule itself: the kernel and
// its lower packages are in the list, the ring-3 ones are not.
func TestEscapeRuleFollowsDirectory(t *testing.T) {
	pkgs := trapPackages(t)
	require.Contains(t, pkgs, module+"kernel")
	require.Contains(t, pkgs, module+"kernel/mm")
	require.Contains(t, pkgs, module+"kernel/thread")
	require.Contains(t, pkgs, module+"kernel/timeslice")
	require.Contains(t, pkgs, module+"kernel/fdtab")
	require.Contains(t, pkgs, module+"kernel/socket")
	require.Contains(t, pkgs, module+"kernel/vfs")
	require.Contains(t, pkgs, module+"kernel/console")
	require.Contains(t, pkgs, module+"kernel/devices")
	require.Contains(t, pkgs, module+"kernel/fsys")
	require.Contains(t, pkgs, module+"kernel/memcalls")
	require.Contains(t, pkgs, module+"kernel/kfiles")
	require.Contains(t, pkgs, module+"kernel/fdcalls")
	require.Contains(t, pkgs, module+"kernel/sysinfo")
	require.Contains(t, pkgs, module+"kernel/klock")
	require.Contains(t, pkgs, module+"kernel/tlb")
	require.Contains(t, pkgs, module+"sched")
	require.Contains(t, pkgs, module+"boot")
	require.Contains(t, pkgs, module+"drivers/uart")
	for _, p := range pkgs {
		require.False(t, isRing3(p), p)
	}
	require.NotContains(t, pkgs, module+"kernel/ring3/knet")
	require.NotContains(t, pkgs, module+"kernel/ring3/virtio")
}

// TestEscapeRuleNoRing3Imports checks that no trap-context package
// imports a ring-3 one (whose code may allocate). (Package kernel once
// imported kernel/ring3/kgo for its init, the boot log's PCI list; the
// kernel makes that list itself now, kernel/pcilist.)
func TestEscapeRuleNoRing3Imports(t *testing.T) {
	args := append([]string{"list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}"}, trapPackages(t)...)
	out, err := exec.Command("go", args...).Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			require.False(t, isRing3(imp), "trap-context package %s imports ring-3 package %s", f[0], imp)
		}
	}
}

// TestNoHeapEscapes compiles the packages that run in trap context with the
// compiler's escape analysis report and fails on any value that would be
// heap-allocated: the kernel runs before the Go runtime exists and under
// it without an M or P, so an allocation there is a crash.
func TestNoHeapEscapes(t *testing.T) {
	pkgs := trapPackages(t)
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
