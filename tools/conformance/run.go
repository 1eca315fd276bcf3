package conformance

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
	// Progress, if not nil, gets one line per finished program.
	Progress io.Writer
	// SMP is the number of CPUs; 0 means 1.
	SMP int
	// Append is the kernel command line (kernel options such as
	// slice=1ms; the programs take no arguments).
	Append string
}

// Status is a program's outcome.
type Status string

// The outcomes.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is one program's outcome.
type Result struct {
	Test     Test
	Status   Status
	Reason   string        // why it failed or was skipped
	Duration time.Duration // build and boot
}

// Run builds and boots every test that is not skipped, o.Jobs at a time,
// and returns the results in the order of tests.
func Run(ctx context.Context, tests []Test, o Options) ([]Result, error) {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Mem == "" {
		o.Mem = "256M"
	}
	work, err := os.MkdirTemp("", "gometal-conformance-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	results := make([]Result, len(tests))
	var mu sync.Mutex // serializes Progress
	report := func(r Result) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf("%s %s", r.Status, r.Test.Name)
		if r.Status != Skip {
			line += fmt.Sprintf(" (%.1fs)", r.Duration.Seconds())
		}
		if r.Reason != "" {
			line += ": " + r.Reason
		}
		fmt.Fprintln(o.Progress, line)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range o.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = runOne(ctx, tests[i], o, work)
				report(results[i])
			}
		}()
	}
	for i, t := range tests {
		if t.Skip != "" {
			results[i] = Result{Test: t, Status: Skip, Reason: t.Skip}
			report(results[i])
			continue
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return results, ctx.Err()
}

// runOne builds t into an image in its own module under work and boots it.
func runOne(ctx context.Context, t Test, o Options, work string) (r Result) {
	start := time.Now()
	r = Result{Test: t, Status: Fail}
	defer func() { r.Duration = time.Since(start) }()
	if ctx.Err() != nil {
		r.Reason = "not run: " + ctx.Err().Error()
		return r
	}
	dir := filepath.Join(work, strings.NewReplacer("/", "_", ".go", "").Replace(t.Name))
	img, err := buildImage(ctx, t, dir)
	if err != nil {
		r.Reason = "build: " + firstLine(err.Error())
		return r
	}
	mem, raised := memFor(img, o.Mem)
	res, err := qemu.Run(ctx, qemu.Options{Image: img, Mem: mem, Timeout: o.Timeout, SMP: o.SMP, Append: o.Append})
	os.RemoveAll(dir)
	r.Status, r.Reason = judge(t, res, err, o.Timeout)
	if raised != "" {
		r.Reason = strings.TrimPrefix(r.Reason+"; "+raised, "; ")
	}
	return r
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

// buildImage copies t into a module of its own in dir (the test files are all
// package main, side by side) and builds it into an image.
func buildImage(ctx context.Context, t Test, dir string) (string, error) {
	src, err := os.ReadFile(t.Path)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	mod := "module gometal.test/conformance\n\ngo " + goVersion() + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(t.Path)), src, 0o644); err != nil {
		return "", err
	}
	img := filepath.Join(dir, "test.img")
	var stderr bytes.Buffer
	_, err = image.Build(ctx, image.BuildOptions{Pkg: ".", Dir: dir, Out: img, Stderr: &stderr})
	if err != nil {
		// The go command's own message (the compiler's) says more.
		if msg := compilerError(stderr.String()); msg != "" {
			return "", fmt.Errorf("%s", msg)
		}
		return "", err
	}
	return img, nil
}

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
