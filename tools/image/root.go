package image

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// RootEnv names the environment variable that overrides where Build finds
// the gometal module's source (the directory holding its go.mod).
const RootEnv = "GOMETAL_ROOT"

// findRoot locates the source of the module that provides the kernel, for
// building programs in other modules. In order:
//
//  1. $GOMETAL_ROOT, if set;
//  2. the directory this source file was compiled from, walking up to the
//     go.mod that declares ModulePath: right for a tool run with "go run"
//     or installed with "go install" from a checkout or from the module
//     cache (a -trimpath build records "module@version/..." paths, which
//     are looked up under $GOMODCACHE).
//
// The tool and the kernel thus come from the same source tree, which keeps
// the link contract in ldflags.go and the boot stub in step.
func findRoot(ctx context.Context, g goRunner) (string, error) {
	if dir := os.Getenv(RootEnv); dir != "" {
		if !declaresModule(filepath.Join(dir, "go.mod"), ModulePath) {
			return "", errors.New("$" + RootEnv + "=" + dir + " holds no go.mod for " + ModulePath)
		}
		return filepath.Abs(dir)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot tell where the gometal tool's source lives; set $" + RootEnv)
	}
	if !filepath.IsAbs(file) && strings.Contains(file, "@") {
		out, err := g.run(ctx, "env", "GOMODCACHE")
		if err != nil {
			return "", err
		}
		file = filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(file))
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if declaresModule(filepath.Join(dir, "go.mod"), ModulePath) {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			break
		}
	}
	return "", errors.New("cannot find the source of " + ModulePath + " (looked above " + file + "); set $" + RootEnv + " to its checkout")
}

// declaresModule reports whether the go.mod file at path declares module mod.
func declaresModule(path, mod string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return modulePath(b) == mod
}

// modulePath returns the module path declared by go.mod contents b, or "".
func modulePath(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != '"') {
			continue
		}
		rest, _, _ = strings.Cut(strings.TrimSpace(rest), "//")
		rest = strings.TrimSpace(rest)
		if p, err := strconv.Unquote(rest); err == nil {
			return p
		}
		return rest
	}
	return ""
}
