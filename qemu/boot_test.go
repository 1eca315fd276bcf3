package qemu_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/iso"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The TestBoot tests need a bootable kernel: each builds one program from
// examples/ into an image, boots it and compares the guest's output and
// exit code with the same program run on the host.

// bootCase is one example program and how to boot it.
type bootCase struct {
	mem    string   // guest memory; "" means 256M
	append string   // kernel command line
	args   []string // host arguments, matching append
	env    []string // host environment additions, matching append
	// progArgs and progEnv travel in the argument block
	// (qemu.Options.ProgramArgs and ProgramEnv, or the ISO's module);
	// the host run gets them as arguments and environment too.
	progArgs, progEnv []string
	// boot is the image's boot protocol (image.BuildOptions.Boot).
	boot string
	// iso boots the image from a GRUB ISO (gometal iso) holding append,
	// through the firmware bios ("" for SeaBIOS).
	iso  bool
	bios string
	// tag names the case's files when one example has several cases.
	tag string
	// smp is the number of CPUs TestBoot uses; 0 means bootSMP. Whatever
	// it is, TestSMPExamples also runs the case at 1 and at 4 CPUs.
	smp int
	// slice is the kernel's goroutine time slice (the slice= option);
	// "" means 1ms.
	slice string
	// files are packed into the image (image.BuildOptions.Files), with
	// host paths relative to the repository.
	files []string
	// goFlags are the image build's go flags (image.BuildOptions.GoFlags).
	goFlags []string
	// workdir is the program's working directory: a guest path (the cwd=
	// option), and on the host the directory files put there.
	workdir, hostWorkdir string
	// stdin is fed to the guest's serial console.
	stdin string
	// guestOnly cases are not run on the host; check judges the result.
	guestOnly bool
	// check, if set, also judges the result of a case compared with the host.
	check func(t *testing.T, res *qemu.Result)
	// fixHost, if set, turns the host output into the expected guest output.
	fixHost func(out []byte) []byte
	// trim, if set, cuts both outputs down to what they must share (after
	// fixHost), for programs whose output holds addresses.
	trim func(out []byte) []byte
	// machine is qemu.Options.Machine ("" for q35); noDebugExit leaves
	// out isa-debug-exit (the status comes from the status record).
	machine     string
	noDebugExit bool
}

const (
	bootSMP     = 1
	bootTimeout = 60 * time.Second
	maxGuests   = 2 // QEMU TCG is CPU-bound: at most one guest per core
)

var bootCases = map[string]bootCase{
	"hello":    {mem: "64M"},
	"pipes":    {},
	"bolt":     {},
	"sqlite":   {},
	"badfiles": {},
	"unixsock": {},
	// ifaces lists the interfaces through route netlink: without a NIC
	// the guest has only its loopback interface (the host has others).
	"ifaces": {guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 0, res.ExitCode)
		assert.Contains(t, string(res.Output), "1 lo mtu 65536 flags up|loopback|running hwaddr \"\" addrs [127.0.0.1/8 ::1/128] same by index true, by name true\n"+
			"all addresses: [127.0.0.1/8 ::1/128]\n"+
			"a missing interface: route ip+net: no such network interface\n")
	}},
	// fillfs fills the in-memory file system: ENOSPC, then everything
	// still works. (A host's /tmp is a disk, so there is nothing to compare.)
	"fillfs": {mem: "128M", guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 0, res.ExitCode)
		assert.Regexp(t, `wrote \d+ MiB and \d+ bytes more, then: write /tmp/fill: no space left on device \(ENOSPC true\)\n`, string(res.Output))
		assert.Contains(t, string(res.Output), "a file after the removal: 1048576 bytes\nthe heap still grows: 16 MiB\n")
	}},
	// files reads its configuration from its working directory (testdata,
	// packed into the image) and works in a temporary directory.
	"files":        {files: []string{"examples/files/testdata:/srv/app"}, workdir: "/srv/app", hostWorkdir: "examples/files/testdata"},
	"sieve":        {},
	"gcstress":     {},
	"timers":       {},
	"stdlib":       {},
	"panicrecover": {},
	"exit3":        {},
	"waitgroup":    {},
	"alloc1g":      {mem: "2G"},
	// oom gives up on the host (exit 1); in the guest the runtime must die
	// of its own out-of-memory error after it got some memory.
	"oom": {guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 2, res.ExitCode, "the runtime's fatal error exits 2")
		assert.Contains(t, string(res.Output), "\n64 MiB\n")
		assert.Contains(t, string(res.Output), "\nfatal error: runtime: out of memory\n")
		assert.NotContains(t, string(res.KernelLog), "out of physical memory", "the runtime, not the kernel, must stop it")
	}},
	"args": {
		append: "FOO=bar GOMAXPROCS=1 -- -flag value",
		args:   []string{"-flag", "value"},
		env:    []string{"FOO=bar", "GOMAXPROCS=1"},
	},
	// demo prints the CPU count: the guest has bootSMP CPUs, the host more.
	"demo": {fixHost: cpuCount(bootSMP)},
}

// hostRun is a program's output and exit status on the host.
type hostRun struct {
	out  []byte
	code int
}

// bootSuite holds what the boot tests share within one test run.
type bootSuite struct {
	root, dir string
	guests    chan struct{}
	hostBins  func() error // builds every example for the host, once
	images    sync.Map     // example name and boot protocol -> func() builtImage
}

func TestBoot(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	entries, err := os.ReadDir(filepath.Join(root, "examples"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	for name := range bootCases {
		assert.Contains(t, names, name, "boot case without an example")
	}

	s := newBootSuite(t, root)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, ok := bootCases[name]
			require.True(t, ok, "examples/%s has no boot case in boot_test.go", name)
			s.boot(t, name, c)
		})
	}
}

// newBootSuite returns a suite for the repository at root.
func newBootSuite(t *testing.T, root string) *bootSuite {
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "gometal-boot-")
		if err != nil {
			shared.err = err
			return
		}
		s := &bootSuite{root: root, dir: dir, guests: make(chan struct{}, maxGuests)}
		s.hostBins = sync.OnceValue(func() error {
			cmd := exec.Command("go", "build", "-o", filepath.Join(s.dir, "host")+"/", "./examples/...")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return errors.New(string(out) + err.Error())
			}
			return nil
		})
		shared.s = s
	})
	require.NoError(t, shared.err, "the boot tests' directory")
	require.Equal(t, shared.s.root, root, "one repository per test binary")
	return shared.s
}

// shared is the one boot suite of the test binary: every test that boots
// examples shares its images, its host builds of the examples and its
// limit on guests running at once (it used to be one suite per test,
// which built every example for the host and many images again and
// again: a good minute of make test). TestMain removes its directory.
var shared struct {
	once sync.Once
	s    *bootSuite
	err  error
}

// removeSharedSuite deletes the shared suite's directory, if one was made.
func removeSharedSuite() {
	if shared.s != nil {
		os.RemoveAll(shared.s.dir)
	}
}

// builtImage is an example's image and how its build went.
type builtImage struct {
	path string
	size int64
	took time.Duration
	err  error
}

// image builds examples/name with the boot protocol, files and go flags
// into base.img, once per test binary for each name, protocol, file list
// and flag list: the cases that boot one example at several CPU counts
// share it.
func (s *bootSuite) image(t *testing.T, name, boot, base string, files, goFlags []string) builtImage {
	key := name + "\x00" + boot + "\x00" + strings.Join(files, "\x00") + "\x00" + strings.Join(goFlags, "\x00")
	f, _ := s.images.LoadOrStore(key, sync.OnceValue(func() builtImage {
		b := builtImage{path: filepath.Join(s.dir, base+".img")}
		var stderr bytes.Buffer
		start := time.Now()
		var abs []string
		for _, f := range files {
			abs = append(abs, filepath.Join(s.root, f))
		}
		b.size, b.err = image.Build(t.Context(), image.BuildOptions{
			Pkg: "./examples/" + name, Out: b.path, Dir: s.root, Stderr: &stderr, Boot: boot, Files: abs, GoFlags: goFlags,
		})
		if b.err != nil && !strings.Contains(b.err.Error(), strings.TrimSpace(stderr.String())) {
			b.err = errors.Join(b.err, errors.New(stderr.String()))
		}
		b.took = time.Since(start)
		return b
	}))
	return f.(func() builtImage)()
}

// boot builds, boots and checks one example.
func (s *bootSuite) boot(t *testing.T, name string, c bootCase) {
	base := name
	if c.tag != "" {
		base += "-" + c.tag
	}
	b := s.image(t, name, c.boot, base, c.files, c.goFlags)
	require.NoError(t, b.err, "image build")
	t.Logf("image %s: %d bytes, built in %v", name, b.size, b.took.Round(time.Millisecond))
	img := b.path

	var want hostRun
	if !c.guestOnly {
		want = s.host(t, name, c)
	}

	// Every boot test runs with aggressive kernel time slices unless it
	// asks otherwise: preempting goroutines every millisecond must not
	// change any program's output.
	o := qemu.Options{Image: img, SMP: bootSMP, Mem: c.mem, Append: strings.TrimSpace("slice=" + cmp.Or(c.slice, "1ms") + " " + c.append), Timeout: bootTimeout}
	if c.workdir != "" {
		o.Append = "cwd=" + c.workdir + " " + o.Append
	}
	if c.smp != 0 {
		o.SMP = c.smp
	}
	o.Machine, o.NoDebugExit = c.machine, c.noDebugExit
	if c.stdin != "" {
		o.Stdin = strings.NewReader(c.stdin)
	}
	o.ProgramArgs, o.ProgramEnv = c.progArgs, c.progEnv
	if c.iso {
		o.ISO, o.Image, o.Append, o.BIOS = filepath.Join(s.dir, base+".iso"), "", "", c.bios
		o.ProgramArgs, o.ProgramEnv = nil, nil
		require.NoError(t, iso.Build(t.Context(), iso.Options{Image: img, Out: o.ISO, Append: c.append, ProgramArgs: c.progArgs, ProgramEnv: c.progEnv}), "gometal iso")
	}
	s.guests <- struct{}{}
	res, err := qemu.Run(t.Context(), o)
	<-s.guests
	if res != nil {
		t.Logf("guest ran %v", res.Duration.Round(time.Millisecond))
		defer func() {
			if t.Failed() {
				t.Logf("kernel log:\n%s\nconsole:\n%s", res.KernelLog, res.Console)
				if len(res.Firmware) > 0 {
					t.Logf("firmware and boot loader:\n%q", res.Firmware)
				}
			}
		}()
	}
	require.NoError(t, err)
	// The image build's runtime offsets are right for this toolchain: the
	// kernel must never refuse them (qemu/slice_test.go corrupts them).
	assert.NotContains(t, string(res.KernelLog), "runtime layout check failed")
	assert.NotContains(t, string(res.KernelLog), "refusing runtime offsets")
	if c.guestOnly {
		c.check(t, res)
		return
	}
	got := res.Output
	if c.trim != nil {
		want.out, got = c.trim(want.out), c.trim(got)
	}
	assert.Equal(t, string(want.out), string(got), "guest output differs from the host's")
	assert.Equal(t, want.code, res.ExitCode, "guest exit code differs from the host's")
	if c.check != nil {
		c.check(t, res)
	}
}

// hostCache keeps host results for the whole test run.
var hostCache sync.Map // example name -> hostRun

// host runs the example on the host, with the case's arguments and
// environment, and returns its combined stdout and stderr and exit code.
func (s *bootSuite) host(t *testing.T, name string, c bootCase) hostRun {
	r := s.hostRaw(t, name, c)
	if c.fixHost != nil {
		r.out = c.fixHost(r.out)
	}
	return r
}

// hostRaw runs the example on the host once per test run (per arguments
// and input) and caches its output.
func (s *bootSuite) hostRaw(t *testing.T, name string, c bootCase) hostRun {
	args := append(append([]string(nil), c.args...), c.progArgs...)
	key := name + "\x00" + strings.Join(args, "\x00") + "\x00" + strings.Join(c.progEnv, "\x00") + "\x00" + c.stdin
	if r, ok := hostCache.Load(key); ok {
		return r.(hostRun)
	}
	require.NoError(t, s.hostBins(), "go build for the host")
	ctx, cancel := context.WithTimeout(t.Context(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.dir, "host", name), args...)
	cmd.Stdin = strings.NewReader(c.stdin)
	if c.hostWorkdir != "" {
		cmd.Dir = filepath.Join(s.root, c.hostWorkdir)
	}
	cmd.Env = append(append(hostEnv(), c.env...), c.progEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := hostRun{out: out.Bytes()}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err, "host run of %s", name)
	}
	hostCache.Store(key, r)
	return r
}

// hostEnv is the environment without the variables the examples print.
func hostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "FOO" && !strings.HasPrefix(k, "GO") {
			env = append(env, kv)
		}
	}
	return env
}
