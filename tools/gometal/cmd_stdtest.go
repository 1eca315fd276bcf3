package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gometal/gometal/tools/conformance"
	"github.com/gometal/gometal/tools/stdtest"
)

// init registers "gometal stdtest".
func init() {
	commands["stdtest"] = &command{
		usage: "stdtest [-pkgs LIST] [-shard K/N] [-timeout D] [-qemu-timeout D] [-mem SIZE] [-smp N] [-raw DIR [-reuse [-captured TEXT]]] [-o FILE.md]",
		help: `Stdtest runs the standard library's own tests, for a fixed list of
packages (tools/stdtest/packages.go), on the host ("go test -json -short",
cgo off as in gometal's builds)
and in QEMU ("gometal test -json -short -p 1"), one package at a time,
and compares them test by test. It prints a line per package, then the
totals, and exits 0 once the run is complete (failures are results).
Tests that start other programs are excluded, each with its reason.

Flags:
  -pkgs LIST        only these packages of the list (comma or space separated)
  -shard K/N        only the K-th of N interleaved parts of the selection
  -timeout D        go test's -timeout per package (default 5m)
  -qemu-timeout D   gometal test's --timeout, QEMU's limit (default 6m)
  -mem SIZE         guest memory (default 512M)
  -smp N            guest CPUs (default: gometal test's, the host's CPUs,
                    at least 2)
  -raw DIR          keep the event streams as DIR/{host,guest}/PKG.json
  -reuse            take the streams already in -raw DIR instead of running
  -captured TEXT    with -reuse: when and how those streams were captured,
                    for the report
  -o FILE           write the report into FILE: its standard-library section
                    is replaced (or appended), the rest kept`,
		run: runStdtest,
	}
}

// runStdtest is "gometal stdtest".
func runStdtest(ctx context.Context, std stdio, args []string) (int, error) {
	fs := flag.NewFlagSet("stdtest", flag.ContinueOnError)
	pkgsFlag := fs.String("pkgs", "", "")
	shardFlag := fs.String("shard", "", "")
	timeout := fs.Duration("timeout", 5*time.Minute, "")
	qemuTimeout := fs.Duration("qemu-timeout", 6*time.Minute, "")
	mem := fs.String("mem", "512M", "")
	smp := fs.Int("smp", defaultTestSMP(), "")
	raw := fs.String("raw", "", "")
	reuse := fs.Bool("reuse", false, "")
	out := fs.String("o", "", "")
	captured := fs.String("captured", "", "")
	pos, rest, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, err
	}
	if len(pos) > 0 || len(rest) > 0 {
		return exitUsage, usagef("unexpected arguments %q", append(pos, rest...))
	}
	if *reuse && *raw == "" {
		return exitUsage, usagef("-reuse needs -raw DIR")
	}
	shard, err := conformance.ParseShard(*shardFlag)
	if err != nil {
		return exitUsage, usagef("-shard: %v", err)
	}
	only := strings.FieldsFunc(*pkgsFlag, func(r rune) bool { return r == ',' || r == ' ' })
	pkgs, err := stdtest.Select(stdtest.Packages, only, shard)
	if err != nil {
		return exitUsage, usagef("-pkgs: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		return exitFailure, err
	}
	o := stdtest.Options{
		Gometal: self, RawDir: *raw, Reuse: *reuse, Timeout: *timeout,
		QEMUTimeout: *qemuTimeout, Mem: *mem, SMP: *smp, Progress: std.out,
	}
	start := time.Now()
	rows, err := stdtest.Run(ctx, pkgs, stdtest.Exclusions, o)
	elapsed := time.Since(start)
	interrupted := err != nil && errors.Is(err, ctx.Err())
	if err != nil && !interrupted {
		return exitFailure, err
	}
	t := stdtest.Sum(rows)
	fmt.Fprintf(std.out, "%d packages: host %d passed, %d failed, %d skipped; guest %d passed, %d failed, %d skipped; %d excluded, %d missing\n",
		t.Packages, t.Host.Passed, t.Host.Failed, t.Host.Skipped, t.Guest.Passed, t.Guest.Failed, t.Guest.Skipped, t.Excluded, t.Missing)
	if *out != "" {
		env := stdtest.Env{
			Date: time.Now(), Elapsed: elapsed,
			Command: "make stdtest", Captured: *captured,
			Host:  strings.Join(append(stdtest.HostEnv, o.HostArgs("PKG")...), " "),
			Guest: "gometal " + strings.Join(o.GuestArgs("PKG"), " "),
		}
		env.GoVersion, _ = goEnv(ctx, "GOVERSION")
		env.QEMU = qemuVersion(context.WithoutCancel(ctx))
		var partial []string
		if len(only) > 0 {
			partial = append(partial, "packages "+strings.Join(only, " "))
		}
		if *shardFlag != "" {
			partial = append(partial, "shard "+*shardFlag+" of the list")
		}
		if len(rows) < len(pkgs) {
			partial = append(partial, fmt.Sprintf("interrupted after %d of %d packages", len(rows), len(pkgs)))
		}
		env.Partial = strings.Join(partial, ", ")
		if err := writeStdtest(*out, rows, env); err != nil {
			return exitFailure, err
		}
	}
	if interrupted {
		return exitSignal, err
	}
	return exitOK, nil
}

// writeStdtest writes the report's section into file, keeping the rest.
func writeStdtest(file string, rows []stdtest.Row, env stdtest.Env) error {
	old, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var sec strings.Builder
	if err := stdtest.WriteSection(&sec, rows, env); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, []byte(stdtest.Splice(string(old), sec.String())), 0o644)
}
