package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/gometal/gometal/tools/conformance"
	"github.com/gometal/gometal/tools/stdtest"
)

func init() {
	commands["conformance"] = &command{
		usage: "conformance [-list] [-strict] [-run REGEXP] [-shard K/N] [-config CPUS[:OPTIONS]]... [-j N] [-timeout D] [-mem SIZE] [-o FILE.md] [-json FILE] [-merge FILES]",
		help: `Conformance builds the programs of $GOROOT/test that the Go test driver
(cmd/internal/testdir) runs, in every directory it walks and with every
action that runs a program (run with its flags and arguments, runoutput,
rundir, runindir, buildrun, buildrundir, errorcheckandrundir), into images,
boots each in QEMU once per configuration and compares its output and exit
status with what the driver expects. It prints PASS, FAIL, SKIP (starts
other programs, needs cgo) or EXCL (not for linux/amd64) with a reason for
each, then the totals, and exits 0 once the run is complete (failures are
results, not errors), or with -strict 1 when a program failed (CI).

Flags:
  -strict       exit 1 when a program fails
  -run REGEXP   only programs whose name (such as fixedbugs/bug248.go) matches
  -shard K/N    only the K-th of N interleaved parts of the selection
  -config C     boot every program with C: CPUS or CPUS:KERNEL OPTIONS,
                such as 4:slice=1ms; repeat it to run the selection once
                per configuration (default: 1, one CPU, default options)
  -j N          programs built and booted at once (default: CPUs)
  -timeout D    time limit per boot (default 30s)
  -mem SIZE     guest memory (default 256M)
  -list         print the selection (action, then skip reason) and stop
  -o FILE       also write the report as Markdown (docs/conformance.md)
  -json FILE    also write the results as JSON, for -merge
  -merge FILES  run nothing: report the JSON results of earlier runs (such
                as the shards of one run; comma-separated) with -o`,
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
	list := fs.Bool("list", false, "")
	strict := fs.Bool("strict", false, "")
	jsonOut := fs.String("json", "", "")
	merge := fs.String("merge", "", "")
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
	if *merge != "" {
		return mergeConformance(std, strings.Split(*merge, ","), *out)
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
	dirs, err := conformance.DriverDirs(goroot)
	if err != nil {
		return exitFailure, err
	}
	testDir := filepath.Join(goroot, "test")
	tests, err := conformance.Discover(testDir, dirs)
	if err != nil {
		return exitFailure, err
	}
	tests = conformance.Select(tests, re, shard)
	if *list {
		for _, t := range tests {
			fmt.Fprintf(std.out, "%s\t%s\t%s\n", t.Name, t.Recipe.Action, t.Skip+t.Excluded)
		}
		return exitOK, nil
	}
	if len(configs) == 0 {
		configs = []conformance.Config{{SMP: 1}}
	}
	start := time.Now()
	runs, err := conformance.Run(ctx, tests, conformance.Options{
		Jobs: *jobs, Timeout: *timeout, Mem: *mem, Progress: std.out, Configs: configs, TestDir: testDir,
	})
	if err != nil {
		return exitSignal, err
	}
	took := time.Since(start)
	for _, r := range runs {
		fmt.Fprintf(std.out, "%s: %s\n", r.Config, conformance.Summarize(r.Results))
	}
	env := conformance.Env{Date: time.Now(), Mem: *mem, Timeout: *timeout, Took: took, Jobs: *jobs}
	if env.Jobs <= 0 {
		env.Jobs = runtime.NumCPU()
	}
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
	if *jsonOut != "" {
		b, err := json.MarshalIndent(conformance.Record{Env: env, Runs: runs}, "", "\t")
		if err != nil {
			return exitFailure, err
		}
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return exitFailure, err
		}
	}
	if *out != "" {
		if err := writeConformance(*out, runs, env); err != nil {
			return exitFailure, err
		}
	}
	if n := failures(runs); *strict && n > 0 {
		return exitFailure, fmt.Errorf("%d program boots failed", n)
	}
	return exitOK, nil
}

// failures counts the failed results of every configuration.
func failures(runs []conformance.ConfigResults) int {
	n := 0
	for _, r := range runs {
		for _, res := range r.Results {
			if res.Status == conformance.Fail {
				n++
			}
		}
	}
	return n
}

// mergeConformance reports the JSON records of earlier runs together.
func mergeConformance(std stdio, files []string, out string) (int, error) {
	var recs []conformance.Record
	var sels []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return exitFailure, err
		}
		var r conformance.Record
		if err := json.Unmarshal(b, &r); err != nil {
			return exitFailure, fmt.Errorf("%s: %w", f, err)
		}
		recs = append(recs, r)
		sels = append(sels, r.Env.Selection)
	}
	m, err := conformance.Merge(recs)
	if err != nil {
		return exitFailure, err
	}
	m.Env.Selection = strings.Join(sels, "; ")
	if missing := conformance.MissingShards(sels); missing != "" {
		m.Env.Selection = "**PARTIAL RUN**, shards " + missing + " missing; ran " + m.Env.Selection
	}
	for _, r := range m.Runs {
		fmt.Fprintf(std.out, "%s: %s\n", r.Config, conformance.Summarize(r.Results))
	}
	if out == "" {
		return exitOK, nil
	}
	return exitOK, writeConformance(out, m.Runs, m.Env)
}

// writeConformance writes the Markdown report to out, keeping its
// standard-library section (gometal stdtest) as it is.
func writeConformance(out string, runs []conformance.ConfigResults, env conformance.Env) error {
	kept, _ := os.ReadFile(out)
	var b strings.Builder
	if err := conformance.WriteMarkdown(&b, runs, env); err != nil {
		return err
	}
	doc := b.String()
	if sec := stdtest.Section(string(kept)); sec != "" {
		doc = stdtest.Splice(doc, sec)
	}
	return os.WriteFile(out, []byte(doc), 0o644)
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
