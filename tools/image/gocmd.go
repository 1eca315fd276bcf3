package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// targetEnv is the environment every go command run by Build gets on top of
// the caller's: images are static linux/amd64 executables.
var targetEnv = []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}

// goRunner runs the go command in one directory with one environment.
type goRunner struct {
	dir    string
	env    []string  // added to os.Environ() and targetEnv; later wins
	stderr io.Writer // also receives the command's stderr, if not nil
}

// run runs "go args..." and returns its standard output. A failure's error
// names the command and includes its standard error.
func (g goRunner) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = g.dir
	cmd.Env = append(append(os.Environ(), targetEnv...), g.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if g.stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, g.stderr)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("go %s: %w\n%s", QuoteArgs(args), err, msg)
	}
	return stdout.Bytes(), nil
}

// with returns a copy of g with extra environment variables.
func (g goRunner) with(env ...string) goRunner {
	g.env = append(append([]string(nil), g.env...), env...)
	return g
}

// QuoteArgs joins args with spaces, quoting (strconv.Quote) those that
// are empty or hold spaces or quotes: for a message that names a go
// command, and for the value of a go command flag that takes a list
// (-gcflags, -ldflags), which the go command splits at spaces outside
// quotes. tools/conformance uses it for the latter.
func QuoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n\"'") {
			q[i] = strconv.Quote(a)
		}
	}
	return strings.Join(q, " ")
}
