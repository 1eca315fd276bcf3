// A stand-in for the Go tree's test driver: only its list of directories
// is read.

package testdir_test

var (
	goos string

	// dirs are the directories to look for *.go files in.
	dirs = []string{".", "chan", "fixedbugs"}
)
