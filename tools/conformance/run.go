package conformance

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
)

// Options configures Run.
type Options struct {
	// Jobs is how many programs are built and booted at once; 0 means
	// one per CPU.
	Jobs int
	// Timeout bounds each boot; 0 means 30s.
	Timeout time.Duration
	// Mem is the guest memory; "" means 256M.
	Mem string
	// Progress, if not nil, gets one line per finished boot or skip.
	Progress io.Writer
	// Configs are the ways every program is booted (its image is built
	// once); none means one CPU with the default kernel options.
	Configs []Config
	// TestDir is $GOROOT/test, where runoutput generators run on the
	// host as the driver runs them.
	TestDir string
}

// Status is a program's outcome.
type Status string

// The outcomes.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
	// Excluded programs are not for linux/amd64 (a build constraint):
	// the driver does not run them on such a host either.
	Excluded Status = "EXCL"
)

// Result is one program's outcome in one configuration.
type Result struct {
	Test     Test
	Status   Status
	Reason   string        // why it failed or was skipped
	Duration time.Duration // the boot
	Build    time.Duration // building the image (the same in every configuration)
}

// GuestDir is where the program's sources (the directory it was built
// from) lie in the guest, and its working directory, as the driver runs
// it in a directory holding a copy of its files.
const GuestDir = "/test"

// Run builds every test that is not skipped into an image, o.Jobs at a
// time, boots it once per configuration and returns the results of each
// configuration in the order of tests.
func Run(ctx context.Context, tests []Test, o Options) ([]ConfigResults, error) {
	o = o.withDefaults()
	work, err := os.MkdirTemp("", "gometal-conformance-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	runs := make([]ConfigResults, len(o.Configs))
	for c, cfg := range o.Configs {
		runs[c] = ConfigResults{Config: cfg, Results: make([]Result, len(tests))}
	}
	var mu sync.Mutex // serializes Progress and the Elapsed sums
	record := func(i int, rs []Result) {
		mu.Lock()
		defer mu.Unlock()
		for c, r := range rs {
			runs[c].Results[i] = r
			runs[c].Elapsed += r.Duration
			if o.Progress != nil && (c == 0 || r.Status == Pass || r.Status == Fail) {
				fmt.Fprintln(o.Progress, progressLine(r, o.Configs[c], len(o.Configs)))
			}
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range o.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				record(i, runOne(ctx, tests[i], o, work))
			}
		}()
	}
	for i, t := range tests {
		if t.Skip != "" || t.Excluded != "" {
			record(i, notRun(t, len(o.Configs)))
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return runs, ctx.Err()
}

// withDefaults returns o with its zero fields replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Mem == "" {
		o.Mem = "256M"
	}
	if len(o.Configs) == 0 {
		o.Configs = []Config{{SMP: 1}}
	}
	return o
}

// notRun is the result of a skipped or excluded test in each of n
// configurations.
func notRun(t Test, n int) []Result {
	r := Result{Test: t, Status: Skip, Reason: t.Skip}
	if t.Skip == "" {
		r.Status, r.Reason = Excluded, "not for linux/amd64: "+t.Excluded
	}
	return slices.Repeat([]Result{r}, n)
}

// progressLine is one line of progress: status, name, configuration
// (when there are several), time and reason.
func progressLine(r Result, cfg Config, n int) string {
	line := fmt.Sprintf("%s %s", r.Status, r.Test.Name)
	if r.Status == Pass || r.Status == Fail {
		if n > 1 {
			line += " [" + cfg.String() + "]"
		}
		line += fmt.Sprintf(" (%.1fs)", r.Duration.Seconds())
	}
	if r.Reason != "" {
		line += ": " + r.Reason
	}
	return line
}

// runOne builds t into an image under work and boots it once per
// configuration.
func runOne(ctx context.Context, t Test, o Options, work string) []Result {
	start := time.Now()
	fail := func(reason string) []Result {
		r := Result{Test: t, Status: Fail, Reason: reason, Build: time.Since(start)}
		return slices.Repeat([]Result{r}, len(o.Configs))
	}
	if ctx.Err() != nil {
		return fail("not run: " + ctx.Err().Error())
	}
	base := strings.NewReplacer("/", "_", ".go", "").Replace(t.Name)
	dir := filepath.Join(work, base)
	defer os.RemoveAll(dir)
	img := filepath.Join(work, base+".img")
	defer os.Remove(img)
	defer os.Remove(img + ".cpio")
	spec, err := buildImage(ctx, t, o.TestDir, dir, img)
	if err != nil {
		return fail("build: " + firstLine(err.Error()))
	}
	built := time.Since(start)
	mem, raised := memFor(img, o.Mem)
	var rs []Result
	for _, cfg := range o.Configs {
		bootStart := time.Now()
		res, err := qemu.Run(ctx, qemu.Options{Image: img, Initrd: img + ".cpio", Mem: mem, Timeout: o.Timeout, SMP: cfg.SMP, Append: cmdline(cfg, spec.Args)})
		r := Result{Test: t, Duration: time.Since(bootStart), Build: built}
		r.Status, r.Reason = judge(t, res, err, o.Timeout)
		if raised != "" {
			r.Reason = strings.TrimPrefix(r.Reason+"; "+raised, "; ")
		}
		rs = append(rs, r)
	}
	return rs
}

// cmdline is the kernel command line of a boot: the configuration's
// options, the working directory and, after "--", the program's
// arguments.
func cmdline(cfg Config, args []string) string {
	s := strings.TrimSpace(cfg.Append + " cwd=" + GuestDir)
	if len(args) > 0 {
		s += " -- " + strings.Join(args, " ")
	}
	return s
}

// staticHeadroom is the memory a program needs besides its image's static
// data: the runtime's heap, stacks and the kernel.
const staticHeadroom = 192 << 20

// memFor returns the guest memory for img: mem, or more when the image's
// static data (its loaded segments, bss included) would leave less than
// staticHeadroom. The kernel backs the image with RAM when it loads it (it
// does not demand-page bss, docs/conformance.md), so a program with a
// 256 MiB array in bss needs more than 256M. The second result says why
// it was raised, "" if not.
func memFor(img, mem string) (string, string) {
	want, err := parseMem(mem)
	if err != nil {
		return mem, ""
	}
	f, err := elf.Open(img)
	if err != nil {
		return mem, ""
	}
	defer f.Close()
	var lo, hi uint64 = ^uint64(0), 0
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			lo, hi = min(lo, p.Vaddr), max(hi, p.Vaddr+p.Memsz)
		}
	}
	if hi <= lo || hi-lo+staticHeadroom <= want {
		return mem, ""
	}
	need := (hi - lo + staticHeadroom + 64<<20 - 1) &^ (64<<20 - 1)
	return fmt.Sprintf("%dM", need>>20), fmt.Sprintf("booted with %dM for %d MiB of static data", need>>20, (hi-lo)>>20)
}

// parseMem reads a QEMU -m size: a number with an optional K, M or G
// suffix (MiB without one).
func parseMem(s string) (uint64, error) {
	mult := uint64(1 << 20)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		s = strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n * mult, err
}

// buildImage lays t's program out in dir as its action requires, builds
// it into the image img and writes the archive of dir (its files at
// GuestDir) to img+".cpio", the boot module (an initramfs) it boots with:
// a boot module rather than an embedded archive, since the go:embed that
// embeds one needs go 1.16 and runindir modules are older.
func buildImage(ctx context.Context, t Test, testDir, dir, img string) (buildSpec, error) {
	spec, err := layout(ctx, t, testDir, dir)
	if err != nil {
		return spec, err
	}
	specs, err := gorootFiles(t, filepath.Dir(testDir))
	if err != nil {
		return spec, err
	}
	archive, err := image.FilesArchive(append(specs, spec.Dir+":"+GuestDir))
	if err != nil {
		return spec, err
	}
	if err := os.WriteFile(img+".cpio", archive, 0o644); err != nil {
		return spec, err
	}
	var stderr bytes.Buffer
	direct, err := stdInternal(spec.Dir)
	if err != nil {
		return spec, err
	}
	if direct != nil {
		err = image.BuildDirect(ctx, image.DirectOptions{Files: direct, GCFlags: spec.GCFlags, Out: img, Stderr: &stderr})
	} else {
		_, err = image.Build(ctx, image.BuildOptions{
			Pkg: ".", Dir: spec.Dir, Out: img, GoFlags: spec.GoFlags, Env: spec.Env, Stderr: &stderr,
		})
		if files, _ := onePackage(spec.Dir, false); err != nil && refusedByGoBuild(stderr.String()) && files != nil && directFlags(spec) {
			stderr.Reset()
			err = image.BuildDirect(ctx, image.DirectOptions{Files: files, GCFlags: spec.GCFlags, Out: img, Stderr: &stderr})
		}
	}
	if err != nil {
		// The go command's own message (the compiler's) says more.
		if msg := compilerError(stderr.String()); msg != "" {
			return spec, fmt.Errorf("%s", msg)
		}
		return spec, err
	}
	if spec.StrictDups {
		if l := ownDuplicate(stderr.String()); l != "" {
			return spec, fmt.Errorf("-strictdups: %s", l)
		}
	}
	return spec, nil
}

// directFlags reports whether spec's flags can be given to the compiler
// directly: none, or a dir action's compiler flags only.
func directFlags(spec buildSpec) bool {
	return len(spec.GoFlags) == 0 || (len(spec.GoFlags) == 1 && len(spec.GCFlags) > 0)
}

// gorootReads are the programs that read files of $GOROOT (through
// runtime.GOROOT()) and the extension of the files they read:
// winbatch.go checks that every .bat file of the tree has CRLF line
// endings. Their images carry those files at their host paths (the rest
// of the tree, hundreds of MB, is not read).
var gorootReads = map[string]string{"winbatch.go": ".bat"}

// gorootFiles returns the archive specs ("HOST:GUEST", the same path) of
// the $GOROOT files t reads, skipping what the program skips (pkg,
// testdata and dot directories).
func gorootFiles(t Test, goroot string) ([]string, error) {
	ext, ok := gorootReads[t.Name]
	if !ok {
		return nil, nil
	}
	var specs []string
	err := filepath.WalkDir(goroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || p == filepath.Join(goroot, "pkg")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && filepath.Ext(p) == ext {
			specs = append(specs, p+":"+p)
		}
		return nil
	})
	return specs, err
}

// ownDuplicate returns the first linker warning about a duplicate symbol
// of the test's own packages (main or test/...), or "".
func ownDuplicate(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if ownDupSymbol.MatchString(l) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

var ownDupSymbol = regexp.MustCompile(`duplicate symbol '(main\.|test/|` + dirModule + `\.)`)

// goVersion is the language version of the toolchain, "1.26" for go1.26.8:
// the test directory's programs are written for it.
func goVersion() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "1.26"
	}
	return parts[0] + "." + strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
}

// compilerError returns the first line of go build's output that is not a
// "# package" header.
func compilerError(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
