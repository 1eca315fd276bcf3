package main

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
)

// testBoolFlags are go test's boolean flags that the test binary takes as
// -test.NAME=VALUE.
var testBoolFlags = map[string]bool{
	"v": true, "short": true, "failfast": true, "benchmem": true, "fullpath": true,
}

// testValueFlags are go test's flags with a value that the test binary
// takes as -test.NAME=VALUE.
var testValueFlags = map[string]bool{
	"run": true, "skip": true, "count": true, "timeout": true, "bench": true,
	"benchtime": true, "cpu": true, "parallel": true, "list": true, "shuffle": true,
}

// unsupportedTestFlags need what a guest cannot give: fuzzing keeps a
// corpus in the module's testdata and runs workers; -exec runs the binary
// elsewhere.
var unsupportedTestFlags = map[string]bool{
	"fuzz": true, "fuzztime": true, "fuzzminimizetime": true, "exec": true,
}

// defaultTestTimeout is go test's default -timeout.
const defaultTestTimeout = 10 * time.Minute

// testKillMargin is how much longer than the test's own -timeout the guest
// may run before QEMU is killed (go test allows a minute too).
const testKillMargin = time.Minute

// testConfig is a parsed "gometal test" command line.
type testConfig struct {
	buildFlags  []string // go build flags, for go list and the image builds
	testFlags   []string // the translated -test.* flags
	rawArgs     []string // after "--" or -args, passed on unchanged
	pkgs        []string // package patterns; none means "."
	boot        bootFlags
	testTimeout time.Duration // go test's -timeout
	verbose     bool
	json        bool
	compileOnly bool     // -c
	out         string   // -o, with -c
	parallel    int      // -p: packages booted at once
	zoneinfo    []string // the host's time zones, for image.BuildOptions.Files
	gorootSrc   []string // the standard library's sources, for packages whose tests read them (image.GorootSourceFiles)
	slowBuild   *notice  // said once when a test image build is slow
	cover       []string // -cover, -covermode, -coverpkg: build flags of the test images
	prof        profiles // profiles and coverage to bring back (testprofile.go)
}

// localMode reports whether no packages were named: go test then tests
// the current directory and shows all its output.
func (c *testConfig) localMode() bool { return len(c.pkgs) == 0 }

// showOutput reports whether a passing package's output is printed.
func (c *testConfig) showOutput() bool { return c.verbose || c.localMode() }

// binaryArgs is the test binary's command line, as go test builds it:
// -test.paniconexit0, -test.timeout, the translated flags, -test.v (=true,
// or =test2json for -json), then the raw arguments.
func (c *testConfig) binaryArgs() []string {
	args := []string{"-test.paniconexit0"}
	if c.testTimeout > 0 {
		args = append(args, "-test.timeout="+c.testTimeout.String())
	}
	args = append(args, c.testFlags...)
	if c.json {
		args = append(args, "-test.v=test2json")
	} else if c.verbose {
		args = append(args, "-test.v=true")
	}
	return append(args, c.rawArgs...)
}

// qemuTimeout is the wall-clock limit of one package's guest: --timeout,
// else the test's -timeout plus a margin, else (-timeout 0) 10 minutes.
func (c *testConfig) qemuTimeout() time.Duration {
	switch {
	case c.boot.timeout > 0:
		return c.boot.timeout
	case c.boot.gdbPort != 0:
		return qemu.NoTimeout // a debugging session takes as long as it takes
	case c.testTimeout > 0:
		return c.testTimeout + testKillMargin
	}
	return defaultTestTimeout
}

// testFlagArg is one flag of the command line, split up.
type testFlagArg struct {
	dashes   int
	name     string
	value    string
	hasValue bool
}

// splitTestFlag splits "-name=value" or "--name" into its parts; ok is
// false for a non-flag argument.
func splitTestFlag(a string) (f testFlagArg, ok bool) {
	if !strings.HasPrefix(a, "-") || a == "-" {
		return f, false
	}
	f.dashes = 1
	if strings.HasPrefix(a, "--") {
		f.dashes = 2
	}
	f.name, f.value, f.hasValue = strings.Cut(a[f.dashes:], "=")
	return f, true
}

// parseTestArgs parses "gometal test"'s arguments: go test flags (test
// flags translated for the binary, build flags kept for the build),
// gometal's own flags, package patterns, and after "--" or -args the test
// binary's raw arguments.
func parseTestArgs(args []string) (*testConfig, error) {
	c := &testConfig{testTimeout: defaultTestTimeout, parallel: runtime.NumCPU(), boot: bootFlags{smp: defaultTestSMP()},
		prof: profiles{want: map[string]string{}, cover: map[string][]byte{}}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-args" || a == "--args" {
			c.rawArgs = args[i+1:]
			break
		}
		f, ok := splitTestFlag(a)
		if !ok {
			c.pkgs = append(c.pkgs, a)
			continue
		}
		next := func() (string, error) {
			if f.hasValue {
				return f.value, nil
			}
			if i+1 >= len(args) {
				return "", usagef("flag %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		if err := c.addFlag(f, a, next); err != nil {
			return nil, err
		}
	}
	return c, c.check()
}

// addFlag handles one flag; next returns its value.
func (c *testConfig) addFlag(f testFlagArg, a string, next func() (string, error)) error {
	switch {
	case unsupportedTestFlags[f.name]:
		return usagef("%s is not supported by gometal test (fuzzing and -exec need a host to run on)", a)
	case profileFlags[f.name]:
		v, err := next()
		c.prof.want[f.name] = v
		if f.name == "coverprofile" && !slices.Contains(c.cover, "-cover") {
			c.cover = append(c.cover, "-cover")
		}
		return err
	case f.name == "outputdir":
		v, err := next()
		c.prof.outputdir = v
		return err
	case f.name == "cover":
		if f.hasValue && f.value != "true" {
			return nil
		}
		if !slices.Contains(c.cover, "-cover") {
			c.cover = append(c.cover, "-cover")
		}
		return nil
	case f.name == "covermode" || f.name == "coverpkg":
		v, err := next()
		c.cover = append(c.cover, "-"+f.name+"="+v)
		return err
	case profileRateFlags[f.name]:
		v, err := next()
		c.testFlags = append(c.testFlags, "-test."+f.name+"="+v)
		return err
	case f.name == "gdb" && f.dashes == 2:
		var g gdbFlag
		v := "true"
		if f.hasValue {
			v = f.value
		}
		if err := g.Set(v); err != nil {
			return usagef("%s: %v", a, err)
		}
		c.boot.gdbPort = int(g)
		return nil
	case f.name == "timeout" && f.dashes == 2:
		return c.durationFlag(a, next, &c.boot.timeout)
	case f.name == "timeout":
		return c.durationFlag(a, next, &c.testTimeout)
	case c.intTarget(f.name) != nil:
		return c.intFlag(a, next, c.intTarget(f.name))
	case c.stringTarget(f.name) != nil:
		v, err := next()
		*c.stringTarget(f.name) = v
		return err
	case f.name == "json" || f.name == "c" || testBoolFlags[f.name]:
		return c.boolFlag(f, a)
	case f.name == "vet":
		_, err := next() // gometal test does not run go vet
		return err
	case testValueFlags[f.name]:
		v, err := next()
		c.testFlags = append(c.testFlags, "-test."+f.name+"="+v)
		return err
	case goValueFlags[f.name] && !f.hasValue:
		v, err := next()
		c.buildFlags = append(c.buildFlags, a, v)
		return err
	}
	c.buildFlags = append(c.buildFlags, a)
	return nil
}

// intTarget is where the integer flag name (--smp, -p) goes, or nil.
func (c *testConfig) intTarget(name string) *int {
	switch name {
	case "smp":
		return &c.boot.smp
	case "p":
		return &c.parallel
	}
	return nil
}

// stringTarget is where the string flag name (--mem, --qemu, --net, -o)
// goes, or nil.
func (c *testConfig) stringTarget(name string) *string {
	switch name {
	case "mem":
		return &c.boot.mem
	case "qemu":
		return &c.boot.qemu
	case "net":
		return &c.boot.net
	case "o":
		return &c.out
	}
	return nil
}

// boolFlag handles -json, -c and the boolean test flags (-v, -short, ...).
func (c *testConfig) boolFlag(f testFlagArg, a string) error {
	on := true
	if f.hasValue {
		var err error
		if on, err = strconv.ParseBool(f.value); err != nil {
			return usagef("flag %s: %v", a, err)
		}
	}
	switch f.name {
	case "json":
		c.json = on
	case "c":
		c.compileOnly = on
	case "v":
		c.verbose = on
	default:
		c.testFlags = append(c.testFlags, fmt.Sprintf("-test.%s=%t", f.name, on))
	}
	return nil
}

// durationFlag parses a duration flag's value into d.
func (c *testConfig) durationFlag(a string, next func() (string, error), d *time.Duration) error {
	v, err := next()
	if err != nil {
		return err
	}
	if *d, err = time.ParseDuration(v); err != nil {
		return usagef("flag %s %q: %v", a, v, err)
	}
	return nil
}

// intFlag parses an integer flag's value into n.
func (c *testConfig) intFlag(a string, next func() (string, error), n *int) error {
	v, err := next()
	if err != nil {
		return err
	}
	if *n, err = strconv.Atoi(v); err != nil {
		return usagef("flag %s %q: %v", a, v, err)
	}
	return nil
}

// defaultTestSMP is gometal test's --smp when it is not given: the
// host's CPU count, as go test runs a test binary with GOMAXPROCS set to
// it, but at least 2 (the standard library skips its memory-ordering and
// timer-contention tests on one CPU) and at most maxSMP.
func defaultTestSMP() int {
	return min(max(runtime.NumCPU(), 2), maxSMP)
}

// check rejects combinations that cannot work.
func (c *testConfig) check() error {
	if c.parallel < 1 {
		return usagef("-p %d: want at least 1", c.parallel)
	}
	if c.boot.smp < 1 || c.boot.smp > maxSMP {
		return usagef("--smp %d: want 1 to %d", c.boot.smp, maxSMP)
	}
	if c.boot.gdbPort != 0 {
		c.parallel = 1 // one guest at a time waits for gdb on the port
	}
	if c.out != "" && !c.compileOnly {
		return usagef("-o needs -c (gometal test -c -o IMAGE PKG writes the test image)")
	}
	for kind := range c.prof.want {
		if kind != "coverprofile" && len(c.pkgs) > 1 {
			return usagef("cannot use -%s flag with multiple packages", kind)
		}
	}
	if len(c.cover) > 0 && !slices.Contains(c.cover, "-cover") {
		c.cover = append(c.cover, "-cover") // -covermode or -coverpkg imply -cover
	}
	c.testFlags = append(c.testFlags, c.prof.binaryFlags()...)
	if err := qemu.CheckArgs(c.binaryArgs(), nil); err != nil {
		return usagef("%v", err)
	}
	return nil
}
