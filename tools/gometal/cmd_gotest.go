package main

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"

	"github.com/gometal/gometal/tools/image"
)

func init() {
	commands["test"] = &command{
		usage: "test [go test flags] [packages] [--smp N] [--mem SIZE] [--net NETDEV] [--timeout D] [--gdb[=PORT]] [--qemu BINARY] [-- TEST ARGS...]",
		help: `Test tests packages as "go test" does, each test binary booted as a
gometal image in QEMU: "./...", import paths, standard-library packages
and packages in the module cache, from any directory. Without packages it
tests the current directory. The output is go test's: the tests' own
output (of failing packages, or of all with -v), the lines "ok PKG TIME",
"FAIL PKG TIME", "? PKG [no test files]" and "FAIL PKG [build failed]",
and a final "FAIL" and exit status 1 when a package failed.

Go test flags, passed to the test binary as -test.* arguments:
  -v -run RE -skip RE -count N -short -timeout D -bench RE -benchtime D
  -benchmem -cpu LIST -parallel N -failfast -list RE -shuffle X -fullpath
  -json   events as go test -json prints them (go tool test2json)
  -args   the rest of the command line goes to the test binary unchanged
          (as after "--")
Other go test flags:
  -p N    boot up to N packages at once (default: the number of CPUs)
  -c [-o IMAGE]  only build the test image (default PKG.test)
  -vet    accepted and ignored: gometal test does not run go vet
Go build flags (-tags, -gcflags, -ldflags, -C, ...) are passed to go
list and the builds. -cover, -covermode, -coverpkg, -coverprofile,
-cpuprofile, -memprofile, -blockprofile, -mutexprofile, -trace and
-outputdir work as with go test: the kernel brings the files back at exit.
-fuzz and -exec are refused. Each test runs in its package's directory,
packed into the image with the host's time zones.

gometal's flags:
  --smp N          CPUs, 1 to 64 (default: the host's CPUs, at least 2, as
                   go test runs tests with GOMAXPROCS set to the host's)
  --mem SIZE       memory (default 256M)
  --net NETDEV     a QEMU -netdev backend for a virtio-net NIC, such as
                   user (default: no NIC)
  --timeout D      QEMU's wall-clock limit per package, two dashes (one
                   dash is go test's -timeout); default: -timeout plus
                   1m, so 11m; 10m with -timeout 0
  --gdb[=PORT]     boot each package's guest paused with QEMU's gdb stub on
                   PORT (default 1234), one package at a time, and print
                   the gdb command that attaches (docs/debugging.md); no
                   time limit unless --timeout is given
  --qemu BINARY    the QEMU binary

A test runs in its package's directory, with the package's files and
testdata, as under go test (docs/files.md). Kernel log lines stay off the
output; a package whose image does not build, boot or finish in time
fails with the reason and the last console lines.`,
		run: runTest,
	}
}

// runTest is "gometal test".
func runTest(ctx context.Context, std stdio, args []string) (int, error) {
	c, err := parseTestArgs(args)
	if err != nil {
		return exitUsage, err
	}
	patterns := c.pkgs
	if c.localMode() {
		patterns = []string{"."}
	}
	pkgs, err := image.ListTestPackages(ctx, "", c.buildFlags, patterns)
	if err != nil {
		return exitFailure, err
	}
	if c.zoneinfo, err = image.ZoneinfoFiles(ctx); err != nil {
		fmt.Fprintf(std.errOut, "gometal: warning: %v\n", err) // tests that load zones fail as on a host without them
	}
	if slices.ContainsFunc(pkgs, image.TestPackage.ReadsGOROOT) {
		if c.gorootSrc, err = image.GorootSourceFiles(ctx); err != nil {
			fmt.Fprintf(std.errOut, "gometal: warning: %v\n", err) // tests that read GOROOT fail as on a host without it
		}
	}
	c.slowBuild = &notice{w: std.errOut, msg: "gometal: building test images" + coldBuildHint}
	if c.compileOnly {
		return compileTests(ctx, c, pkgs)
	}
	passed, err := runPackages(ctx, std, c, setupFailuresFirst(pkgs))
	if err == nil {
		var order []string
		for _, p := range pkgs {
			order = append(order, p.ImportPath)
		}
		if werr := c.prof.writeCover(order); werr != nil {
			return exitFailure, werr
		}
	}
	switch {
	case err != nil:
		return exitFailure, err
	case passed:
		return exitOK, nil
	case !c.localMode() && !c.json:
		fmt.Fprintln(std.out, "FAIL")
	}
	return exitFailure, nil
}

// compileTests is "gometal test -c": it writes the test images of pkgs
// (those with tests) to -o or to PKG.test, as go test -c does.
func compileTests(ctx context.Context, c *testConfig, pkgs []image.TestPackage) (int, error) {
	var testable []image.TestPackage
	for _, p := range pkgs {
		if p.Error != nil {
			return exitFailure, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		if p.HasTests() {
			testable = append(testable, p)
		}
	}
	if c.out != "" && len(testable) > 1 {
		return exitUsage, usagef("-o names one image, but %d packages have tests", len(testable))
	}
	for _, p := range testable {
		out := c.out
		if out == "" {
			out = path.Base(p.ImportPath) + ".test"
		}
		o, _ := guestSetup(c, p, out)
		stop := c.slowBuild.start()
		_, err := image.Build(ctx, o)
		stop()
		if err != nil {
			return exitFailure, err
		}
	}
	return exitOK, nil
}

// setupFailuresFirst moves the packages that could not be loaded to the
// front, keeping the order otherwise: go test reports them before any
// package runs.
func setupFailuresFirst(pkgs []image.TestPackage) []image.TestPackage {
	sorted := slices.Clone(pkgs)
	slices.SortStableFunc(sorted, func(a, b image.TestPackage) int {
		return cmp.Compare(btoi(a.Error == nil), btoi(b.Error == nil))
	})
	return sorted
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
