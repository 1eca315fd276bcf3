package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/symbolize"
)

// failureTail is how many console lines a package's failure to boot or
// finish quotes.
const failureTail = 20

// pkgTest tests one package: builds its test image and boots it.
type pkgTest struct {
	c   *testConfig
	pkg image.TestPackage
	sec *section
	img string // where its image goes
}

// runPackages tests pkgs, up to c.parallel at a time, printing each
// package's result in package order, and reports whether all passed.
func runPackages(ctx context.Context, std stdio, c *testConfig, pkgs []image.TestPackage) (bool, error) {
	tmp, err := os.MkdirTemp("", "gometal-test-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	o := newOrdered(std, len(pkgs))
	next := make(chan int, len(pkgs))
	for i := range pkgs {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := true
	for range min(c.parallel, len(pkgs)) {
		wg.Go(func() {
			for i := range next {
				t := &pkgTest{c: c, pkg: pkgs[i], sec: o.secs[i], img: filepath.Join(tmp, fmt.Sprintf("%d.test", i))}
				if !t.run(ctx) {
					mu.Lock()
					passed = false
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return passed, nil
}

// guestSetup assembles what one package's guest is built and booted
// with: the image build options and the kernel options (words before
// "--" on the kernel command line). As go test does, the test runs in its
// package's directory, with the package's files (testdata/...) there: the
// source directory is packed into the image's initramfs at the same path
// and made the working directory (cwd=). The host's time zones come
// along (image.ZoneinfoFiles), as a test on the host finds them, and the
// standard library's sources when the package's tests read them
// (image.TestPackage.ReadsGOROOT, image.GorootSourceFiles).
func guestSetup(c *testConfig, pkg image.TestPackage, img string) (o image.BuildOptions, kopts []string) {
	o = image.BuildOptions{Pkg: pkg.ImportPath, Out: img, GoFlags: append(slices.Clip(c.buildFlags), c.cover...), Test: true}
	if pkg.Dir != "" {
		o.Files = append([]string{pkg.Dir + ":" + pkg.Dir}, nearbyFiles(pkg.Dir)...)
		kopts = append(kopts, "cwd="+pkg.Dir)
	}
	o.Files = append(o.Files, c.zoneinfo...)
	if pkg.ReadsGOROOT() {
		o.Files = append(o.Files, c.gorootSrc...)
	}
	kopts = append(kopts, c.prof.kernelOptions()...)
	return o, kopts
}

// run tests the package and reports whether it passed. Its output goes
// to its section, which it finishes.
func (t *pkgTest) run(ctx context.Context) bool {
	defer t.sec.finish()
	ip := t.pkg.ImportPath
	switch {
	case t.pkg.Error != nil:
		t.notRun(setupFailed(ip), "fail", "# "+ip+"\n"+t.pkg.Error.Err+"\n", ip)
		return false
	case !t.pkg.HasTests():
		t.notRun(noTestFiles(ip), "skip", "", "")
		return true
	}
	o, kopts := guestSetup(t.c, t.pkg, t.img)
	stop := t.c.slowBuild.start()
	_, err := image.Build(ctx, o)
	stop()
	if err != nil {
		t.notRun(buildFailed(ip), "fail", buildMessage(err), fmt.Sprintf("%s [%s.test]", ip, ip))
		return false
	}
	if err := writeSelfArchive(t.img, t.img+".init.cpio"); err != nil {
		t.notRun(setupFailed(ip), "fail", "gometal: "+err.Error()+"\n", "")
		return false
	}
	return t.boot(ctx, kopts)
}

// writeSelfArchive writes an initramfs archive holding the image itself as
// /init, the program's path in the guest (argv[0], /proc/self/exe), so
// that tests that read their own executable (debug/elf, os.Executable)
// find it, as they do on Linux.
func writeSelfArchive(img, out string) error {
	a, err := image.FilesArchive([]string{img + ":/init"})
	if err != nil {
		return err
	}
	return os.WriteFile(out, a, 0o644)
}

// notRun reports a package whose test binary did not run: its one line
// and, on standard error, what went wrong. With -json, these become go
// test's events; what went wrong then comes as build-output events for
// failedBuild, the failed build's (or setup's) name, unless it is "".
func (t *pkgTest) notRun(line, action, why, failedBuild string) {
	if !t.c.json {
		t.sec.stderr().Write([]byte(why))
		t.sec.stdout().Write([]byte(line))
		return
	}
	if failedBuild != "" {
		writeEvents(t.sec.stdout(), buildEvents(failedBuild, why)...)
	} else {
		t.sec.stderr().Write([]byte(why))
	}
	writeEvents(t.sec.stdout(), packageEvents(t.pkg.ImportPath, line, action, failedBuild)...)
}

// boot runs the package's image and prints its output and result.
func (t *pkgTest) boot(ctx context.Context, kopts []string) bool {
	sink, closeSink, err := t.sink(ctx)
	if err != nil {
		t.notRun(fmt.Sprintf("FAIL\t%s\t0.000s\n", t.pkg.ImportPath), "fail", "gometal: "+err.Error()+"\n", "")
		return false
	}
	var out bytes.Buffer
	res, elapsed, err := t.runGuest(ctx, kopts, io.MultiWriter(&out, sink))
	passed := err == nil && res.ExitCode == 0
	if err == nil {
		if perr := t.c.prof.save(t.pkg.ImportPath, t.img, res); perr != nil {
			t.sec.stderr().Write([]byte("gometal: profiles of " + t.pkg.ImportPath + ": " + perr.Error() + "\n"))
			passed = false
		}
	}
	tail := t.failureText(&out, res, err)
	final := tail + summary(t.pkg.ImportPath, passed, elapsed, []byte(out.String()+tail))
	sink.Write([]byte(final))
	closeErr := closeSink()
	if !t.c.showOutput() && !t.c.json {
		if !passed {
			t.sec.stdout().Write(out.Bytes())
		}
		t.sec.stdout().Write([]byte(final))
	}
	if closeErr != nil {
		t.sec.stderr().Write([]byte("gometal: " + closeErr.Error() + "\n"))
	}
	return passed
}

// runGuest boots the image with the kernel options kopts and the test
// binary's arguments, writing the program's output (no kernel log) to w
// as it arrives, and returns qemu.Run's result and how long it took.
func (t *pkgTest) runGuest(ctx context.Context, kopts []string, w io.Writer) (*qemu.Result, time.Duration, error) {
	stream := &progStream{w: w}
	cmdline, _ := kernelCmdline(kopts) // no option holds a double quote (a package directory with one fails here)
	args := t.c.binaryArgs()           // checked by parseTestArgs
	if args == nil {
		args = []string{}
	}
	var extra []string
	if port := t.c.boot.gdbPort; port != 0 {
		extra = []string{"-S", "-gdb", fmt.Sprintf("tcp:127.0.0.1:%d", port)}
		t.sec.stderr().Write([]byte(fmt.Sprintf("gometal: %s: the machine is paused before its first instruction; QEMU's gdb stub listens on 127.0.0.1:%d. Attach with:\n\n    %s\n\n",
			t.pkg.ImportPath, port, gdbCommand(t.img, port))))
	}
	start := time.Now()
	res, err := qemu.Run(ctx, qemu.Options{
		Image: t.img, SMP: t.c.boot.smp, Mem: t.c.boot.mem, Net: t.c.boot.net, QEMU: t.c.boot.qemu,
		Append: cmdline, Timeout: t.c.qemuTimeout(), Console: stream, Initrd: t.img + ".init.cpio",
		ProgramArgs: args, Extra: extra,
	})
	stream.Close()
	return res, time.Since(start), err
}

// sink is where the program's output goes while it runs: through
// test2json with -json, straight to the section when the output is shown
// anyway, else nowhere (boot keeps a copy).
func (t *pkgTest) sink(ctx context.Context) (io.Writer, func() error, error) {
	switch {
	case t.c.json:
		conv, err := startTest2JSON(ctx, t.pkg.ImportPath, t.sec.stdout())
		if err != nil {
			return nil, nil, err
		}
		return conv, conv.Close, nil
	case t.c.showOutput():
		return t.sec.stdout(), func() error { return nil }, nil
	}
	return io.Discard, func() error { return nil }, nil
}

// failureText is what is printed after the program's output out when the
// guest failed: go test's "exit status N" where it prints one, or why the
// guest gave no status and the console's last lines.
func (t *pkgTest) failureText(out *bytes.Buffer, res *qemu.Result, err error) string {
	var b strings.Builder
	if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) && (err != nil || res.ExitCode != 0) {
		b.WriteByte('\n')
	}
	switch {
	case err != nil && errors.Is(err, qemu.ErrTimeout) && res != nil && res.PanicReport != "":
		first, _, _ := strings.Cut(err.Error(), "\n")
		fmt.Fprintf(&b, "gometal: %s\n", first)
		fmt.Fprintf(&b, "gometal: last %d console lines before the kernel's stall report:\n%s", failureTail, consoleTail(qemu.BeforeReport(res.Console), failureTail))
		b.WriteString("gometal: the kernel's stall report (docs/debugging.md, \"When a run hangs\"):\n")
		b.WriteString(symbolizedReport(t.img, res.Console))
	case err != nil:
		first, _, _ := strings.Cut(err.Error(), "\n")
		fmt.Fprintf(&b, "gometal: %s\n", first)
		if res != nil {
			fmt.Fprintf(&b, "gometal: last %d console lines:\n%s", failureTail, consoleTail(res.Console, failureTail))
		}
	case res.ExitCode != 0 && (out.Len() == 0 || t.c.localMode()):
		fmt.Fprintf(&b, "exit status %d\n", res.ExitCode)
	}
	return b.String()
}

// consoleTail returns the last n lines of a console stream, "\r" removed,
// each ending in a newline.
func consoleTail(console []byte, n int) string {
	text := strings.TrimRight(strings.ReplaceAll(string(console), "\r", ""), "\n")
	if text == "" {
		return "(console empty)\n"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// buildMessage is what go test prints for a failed build: the compiler's
// "# PKG" report when the go command gave one, else the whole error.
func buildMessage(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "\n"); ok && strings.HasPrefix(rest, "# ") {
		msg = rest
	}
	return strings.TrimRight(msg, "\n") + "\n"
}

// nearbyFiles are the files around a package directory that tests reach
// with relative paths, as "go test" finds them in the source tree: the
// testdata directories of the enclosing directories up to the module's
// root (the one with go.mod; GOROOT/src has one too), as in
// compress/flate's "../../testdata/...", and the regular files of the
// parent directory (io/ioutil lists "..").
func nearbyFiles(dir string) []string {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return nil // a module's root: what is above is not part of its tree
	}
	var specs []string
	for d, up := filepath.Dir(dir), 0; up < 8 && d != filepath.Dir(d); d, up = filepath.Dir(d), up+1 {
		if st, err := os.Stat(filepath.Join(d, "testdata")); err == nil && st.IsDir() {
			td := filepath.Join(d, "testdata")
			specs = append(specs, td+":"+td)
		}
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			break
		}
	}
	parent := filepath.Dir(dir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return specs
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			f := filepath.Join(parent, e.Name())
			specs = append(specs, f+":"+f)
		}
	}
	return specs
}

// symbolizedReport returns the kernel report on console symbolized against
// image img's symbol table (IMAGE.debug, else the image), or the raw
// report when that fails.
func symbolizedReport(img string, console []byte) string {
	var b bytes.Buffer
	if err := symbolize.Symbolize(symbolize.DebugFile(img), bytes.NewReader(console), &b); err != nil {
		report, _ := qemu.ParsePanic(console)
		return report + "\n"
	}
	return b.String()
}
