package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gometal/gometal/tools/conformance"
	"github.com/gometal/gometal/tools/stdtest"
)

func init() {
	commands["conformance"] = &command{
		usage: "conformance [-run REGEXP] [-shard K/N] [-config CPUS[:OPTIONS]]... [-j N] [-timeout D] [-mem SIZE] [-o FILE.md]",
		help: `Conformance builds the "// run" programs of $GOROOT/test (top level, chan/
and ken/) into images, boots each in QEMU and compares its output and exit
status with what the Go test driver expects. It prints PASS, FAIL or SKIP
with a reason for each program, then the totals, and exits 0 once the run
is complete (failures are results, not errors).

Flags:
  -run REGEXP   only programs whose name (such as chan/select3.go) matches
  -shard K/N    only the K-th of N interleaved parts of the selection
  -config C     boot every program with C: CPUS or CPUS:KERNEL OPTIONS,
                such as 4:slice=1ms; repeat it to run the selection once
                per configuration (default: 1, one CPU, default options)
  -j N          programs built and booted at once (default: CPUs)
  -timeout D    time limit per boot (default 30s)
  -mem SIZE     guest memory (default 256M)
  -o FILE       also write the report as Markdown (docs/conformance.md)`,
		run: runConformance,
	}
}

func runConformance(ctx context.Context, std stdio, args []string) (int, error) {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	runPat := fs.String("run", "", "")
	shardFlag := fs.String("shard", "", "")
	jobs := fs.Int("j", 0, "")
	timeout := fs.Duration("timeout", 30*time.Second, "")
	mem := fs.String("mem", "256M", "")
	out := fs.String("o", "", "")
	var configs []conformance.Config
	fs.Func("config", "", func(v string) error {
		c, err := conformance.ParseConfig(v)
		configs = append(configs, c)
		return err
	})
	pos, rest, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage, err
	}
	if len(pos) > 0 || len(rest) > 0 {
		return exitUsage, usagef("unexpected arguments %q", append(pos, rest...))
	}
	var re *regexp.Regexp
	if *runPat != "" {
		if re, err = regexp.Compile(*runPat); err != nil {
			return exitUsage, usagef("-run: %v", err)
		}
	}
	shard, err := conformance.ParseShard(*shardFlag)
	if err != nil {
		return exitUsage, usagef("-shard: %v", err)
	}
	goroot, err := goEnv(ctx, "GOROOT")
	if err != nil {
		return exitFailure, err
	}
	tests, err := conformance.Discover(filepath.Join(goroot, "test"), conformance.Dirs)
	if err != nil {
		return exitFailure, err
	}
	tests = conformance.Select(tests, re, shard)
	if len(configs) == 0 {
		configs = []conformance.Config{{SMP: 1}}
	}
	var runs []conformance.ConfigResults
	for _, c := range configs {
		if len(configs) > 1 {
			fmt.Fprintf(std.out, "== %s\n", c)
		}
		start := time.Now()
		results, err := conformance.Run(ctx, tests, conformance.Options{
			Jobs: *jobs, Timeout: *timeout, Mem: *mem, Progress: std.out, SMP: c.SMP, Append: c.Append,
		})
		if err != nil {
			return exitSignal, err
		}
		runs = append(runs, conformance.ConfigResults{Config: c, Results: results, Elapsed: time.Since(start)})
	}
	for _, r := range runs {
		fmt.Fprintf(std.out, "%s: %s\n", r.Config, conformance.Summarize(r.Results))
	}
	if *out == "" {
		return exitOK, nil
	}
	env := conformance.Env{Date: time.Now(), Mem: *mem, Timeout: *timeout}
	env.GoVersion, _ = goEnv(ctx, "GOVERSION")
	env.QEMU = qemuVersion(ctx)
	var sel []string
	if *runPat != "" {
		sel = append(sel, "-run "+*runPat)
	}
	if *shardFlag != "" {
		sel = append(sel, "-shard "+*shardFlag)
	}
	env.Selection = strings.Join(sel, " ")
	// The standard-library section (gometal stdtest) stays as it is.
	kept, _ := os.ReadFile(*out)
	var b strings.Builder
	if err := conformance.WriteMarkdown(&b, runs, env); err != nil {
		return exitFailure, err
	}
	doc := b.String()
	if sec := stdtest.Section(string(kept)); sec != "" {
		doc = stdtest.Splice(doc, sec)
	}
	return exitOK, os.WriteFile(*out, []byte(doc), 0o644)
}

// goEnv returns one go env variable.
func goEnv(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// qemuVersion is QEMU's version number, or "unknown".
func qemuVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "qemu-system-x86_64", "--version").Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(line, "QEMU emulator version"))
}
