package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// listedPackage is what Build needs to know of the package it builds.
type listedPackage struct {
	Name   string
	Dir    string
	Module *struct{ Path, Dir string }
}

// packageOf lists the single package pkg.
func packageOf(ctx context.Context, g goRunner, flags []string, pkg string) (listedPackage, error) {
	var p listedPackage
	args := append(append([]string{"list"}, flags...), "-json=Name,Dir,Module", pkg)
	out, err := g.run(ctx, args...)
	if err != nil {
		return p, err
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for ; dec.More(); n++ {
		if err := dec.Decode(&p); err != nil {
			return p, fmt.Errorf("go list %s: %w", pkg, err)
		}
	}
	if n != 1 {
		return p, fmt.Errorf("%s names %d packages, want one", pkg, n)
	}
	if p.Name == "" || p.Dir == "" {
		return p, fmt.Errorf("go list %s: no package name or directory in %q", pkg, out)
	}
	return p, nil
}

// inModuleCache reports whether dir lies in the module cache, where the go
// command refuses -overlay replacements.
func inModuleCache(ctx context.Context, g goRunner, dir string) (bool, error) {
	out, err := g.run(ctx, "env", "GOMODCACHE")
	if err != nil {
		return false, err
	}
	cache := strings.TrimSpace(string(out))
	if cache == "" {
		return false, nil
	}
	rel, err := filepath.Rel(cache, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)), nil
}

// copyCachedModule copies the module of p, which lies in the module cache,
// to a writable directory in tmp and returns the copy's root and the
// package's directory in it. Build then uses the copy as a workspace
// module, so that the overlay may add the kernel's file to it.
func copyCachedModule(p listedPackage, tmp string) (root, pkgDir string, err error) {
	if p.Module == nil || p.Module.Dir == "" {
		return "", "", fmt.Errorf("%s is in the module cache but go list names no module for it", p.Dir)
	}
	rel, err := filepath.Rel(p.Module.Dir, p.Dir)
	if err != nil {
		return "", "", err
	}
	root = filepath.Join(tmp, "module")
	if err := copyTree(p.Module.Dir, root); err != nil {
		return "", "", fmt.Errorf("copying module %s: %w", p.Module.Path, err)
	}
	gomod := filepath.Join(root, "go.mod")
	if _, err := os.Stat(gomod); os.IsNotExist(err) {
		// A module from before go.mod: the go command synthesizes one.
		if err := os.WriteFile(gomod, []byte("module "+p.Module.Path+"\n"), 0o644); err != nil {
			return "", "", err
		}
	}
	return root, filepath.Join(root, rel), nil
}

// copyTree copies the regular files and directories under src to dst,
// writable by the owner (the module cache's are read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil
	})
}

// copyFile copies the regular file src to dst with mode 0644.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
