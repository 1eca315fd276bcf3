package qemu_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The program's arguments and environment travel in an argument block
// (qemu.Options.ProgramArgs and ProgramEnv, docs/protocols.md) and must
// reach it byte for byte: FuzzArgs compares what qemu/testdata/argv prints
// in the guest with what it prints on the host for the same argv and
// environment. As an ordinary test it runs its seed corpus: hand-picked
// cases, a few generated from a fixed random seed and one of 128 KiB.
// With -fuzz it boots one guest per input (slow: seconds each).

// argvProgram builds qemu/testdata/argv for the guest and the host, once.
var argvProgram = sync.OnceValues(func() ([2]string, error) {
	dir, err := os.MkdirTemp("", "gometal-argv-")
	if err != nil {
		return [2]string{}, err
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return [2]string{}, err
	}
	img, host := filepath.Join(dir, "argv.img"), filepath.Join(dir, "argv")
	var stderr bytes.Buffer
	if _, err := image.Build(context.Background(), image.BuildOptions{Pkg: "./qemu/testdata/argv", Out: img, Dir: root, Stderr: &stderr}); err != nil {
		return [2]string{}, fmt.Errorf("%w: %s", err, stderr.Bytes())
	}
	cmd := exec.Command("go", "build", "-o", host, "./qemu/testdata/argv")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return [2]string{}, fmt.Errorf("%w: %s", err, out)
	}
	return [2]string{img, host}, nil
})

// defaultEnv is what the kernel adds when the environment lacks it; the
// test passes it at the end of both environments, so that neither differs.
var defaultEnv = []string{"HOME=/", "TERM=linux", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// splitNUL turns fuzz bytes into strings: NUL separates them (no argument
// can hold one); nil for no bytes at all.
func splitNUL(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// argSeeds are hand-picked argument and environment lists, NUL-separated:
// what the kernel command line used to lose or change.
var argSeeds = []struct{ args, env string }{
	{"two words\x00\x00\"quoted\"\x00a\"b c\"d", "X=a b\x00EMPTY="},
	{"\x00\x00", ""},
	{"back\\slash\x00\\\"\x00'single'\x00--\x00-- x", "Q=\"\x00B=\\"},
	{"tab\there\x00new\nline\x00cr\rlf", "NL=a\nb"},
	{"ü\x00日本語\x00\xff\xfe invalid UTF-8\x00\x01\x1c\x7f", "U=é\x00=starts with equals\x00no equals sign"},
	{"dup", "D=1\x00D=2\x00HOME=/root"},
}

// generatedArgs returns n argument and environment lists of random bytes
// (no NUL) from a fixed seed.
func generatedArgs(n int) [][2][]byte {
	r := rand.New(rand.NewPCG(14, 2026))
	var out [][2][]byte
	for range n {
		var pair [2][]byte
		for i := range pair {
			b := make([]byte, r.IntN(300))
			for j := range b {
				b[j] = byte(r.IntN(255) + 1)
				if r.IntN(20) == 0 {
					b[j] = 0 // a separator
				}
			}
			pair[i] = b
		}
		out = append(out, pair)
	}
	return out
}

// bigArgs are about 128 KiB of arguments and environment: one long
// argument with every byte value but NUL, many short ones, and a long
// variable.
func bigArgs() (args, env []byte) {
	var long []byte
	for len(long) < 64<<10 {
		for c := 1; c < 256; c++ {
			long = append(long, byte(c))
		}
	}
	args = append(args, long...)
	for i := range 2000 {
		args = append(args, 0)
		args = append(args, strings.Repeat("a", i%17)...)
	}
	env = append([]byte("BIG="), bytes.Repeat([]byte("x y\"z"), 10<<10)...)
	return args, env
}

func FuzzArgs(f *testing.F) {
	for _, s := range argSeeds {
		f.Add([]byte(s.args), []byte(s.env))
	}
	for _, g := range generatedArgs(3) {
		f.Add(g[0], g[1])
	}
	bigA, bigE := bigArgs()
	f.Add(bigA, bigE)
	_, err := argvProgram() // before the inputs: under -fuzz, in each worker
	require.NoError(f, err, "building qemu/testdata/argv")
	f.Fuzz(func(t *testing.T, rawArgs, rawEnv []byte) {
		args := splitNUL(rawArgs)
		var env []string
		for _, e := range splitNUL(rawEnv) {
			env = append(env, "FZ"+e) // never a GO... variable that changes the runtime
		}
		env = append(env, defaultEnv...)
		if qemu.ArgCost(args, env) > abi.MaxArgBytes {
			t.Skip("over the limit; TestArgsOverLimit checks the error")
		}
		compareArgv(t, args, env)
	})
}

// compareArgv boots the argv program with args and env and compares its
// output with the host's.
func compareArgv(t *testing.T, args, env []string) {
	t.Helper()
	bins, err := argvProgram()
	require.NoError(t, err, "building qemu/testdata/argv")
	want := runHostExact(t, bins[1], args, env)
	if args == nil {
		args = []string{}
	}
	res, err := qemu.Run(t.Context(), qemu.Options{Image: bins[0], ProgramArgs: args, ProgramEnv: env, Timeout: bootTimeout})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	if !assert.Equal(t, string(want), string(res.Output), "guest output differs from the host's") {
		t.Logf("kernel log:\n%s", res.KernelLog)
	}
}

// runHostExact runs bin with exactly argv [bin, args...] and environment
// env (os.StartProcess, unlike os/exec, keeps duplicate variables) and
// returns its standard output.
func runHostExact(t *testing.T, bin string, args, env []string) []byte {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	p, err := os.StartProcess(bin, append([]string{bin}, args...), &os.ProcAttr{Env: env, Files: []*os.File{nil, w, w}})
	w.Close()
	require.NoError(t, err)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { _, err := out.ReadFrom(r); done <- err }()
	select {
	case err = <-done:
	case <-time.After(bootTimeout):
		p.Kill()
		t.Fatal("host run timed out")
	}
	require.NoError(t, err)
	st, err := p.Wait()
	require.NoError(t, err)
	require.True(t, st.Success(), "host run: %v", st)
	return out.Bytes()
}

// TestArgsOverLimit: arguments over abi.MaxArgBytes, or holding a NUL, are
// refused before QEMU starts, with the reason.
func TestArgsOverLimit(t *testing.T) {
	img := filepath.Join(t.TempDir(), "never-booted.img")
	require.NoError(t, os.WriteFile(img, []byte("x"), 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{strings.Repeat("x", abi.MaxArgBytes)}, "argument list too long: 262153 bytes"},
		{[]string{"ok", "a\x00b"}, "argument 2"},
	} {
		_, err := qemu.Run(t.Context(), qemu.Options{Image: img, ProgramArgs: c.args, QEMU: "false"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
	fits := []string{strings.Repeat("x", abi.MaxArgBytes-9)}
	assert.NoError(t, qemu.CheckArgs(fits, nil), "exactly at the limit")
}

// exactArgs are arguments the kernel command line could not carry.
var exactArgs = []string{"two words", "", `a"b c"d`, `back\slash`, "ü 日本", "-flag", "--", "x"}

// TestArgsBootPaths boots examples/args with its arguments and FOO in the
// argument block through both protocols QEMU's -kernel uses: multiboot
// (the default image, on q35) and PVH (a PVH-only image, on microvm, as
// microVM monitors boot). FuzzArgs boots q35 multiboot too, and
// TestBootISO's bios-args-module case GRUB's module2. The output must
// match the host's.
func TestArgsBootPaths(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	for _, c := range []struct{ tag, machine, boot string }{
		{"q35", "", ""},
		{"microvm-pvh", "microvm", "pvh"},
	} {
		t.Run(c.tag, func(t *testing.T) {
			t.Parallel()
			s.boot(t, "args", bootCase{
				tag: "module-" + c.tag, machine: c.machine, boot: c.boot, noDebugExit: c.machine != "",
				progArgs: exactArgs, progEnv: []string{`FOO=a "b" c`, "GOMAXPROCS=1"},
				check: func(t *testing.T, res *qemu.Result) {
					assert.Contains(t, string(res.KernelLog), "arguments: 8 and 2 environment variables")
				},
			})
		})
	}
}

// TestArgsOverLimitInGuest: a boot module whose argument block is larger
// than the initial stack takes (made by hand, past the host's check) stops
// the boot with a kernel panic that says so, not a wrong stack.
func TestArgsOverLimitInGuest(t *testing.T) {
	bins, err := argvProgram()
	require.NoError(t, err, "building qemu/testdata/argv")
	huge := strings.Repeat("x", 600<<10)
	blk := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	blk = append(append(blk, huge...), 0)
	mod := binary.LittleEndian.AppendUint64(append([]byte(nil), blk...), uint64(len(blk)))
	mod = append(mod, abi.ArgBlockMagic...)
	initrd := filepath.Join(t.TempDir(), "huge.args")
	require.NoError(t, os.WriteFile(initrd, mod, 0o644))
	res, err := qemu.Run(t.Context(), qemu.Options{Image: bins[0], Initrd: initrd, Timeout: bootTimeout})
	require.ErrorIs(t, err, qemu.ErrKernelPanic)
	assert.Contains(t, string(res.Console), "the arguments and environment need ")
	assert.Contains(t, string(res.Console), "argument list too long")
}
