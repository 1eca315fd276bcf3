package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call runs the gometal command line in-process.
func call(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = gometal(context.Background(), stdio{strings.NewReader(stdin), &out, &errOut}, args)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	code, _, errOut := call(t, "")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "usage: gometal COMMAND")

	code, _, errOut = call(t, "", "frobnicate")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown command "frobnicate"`)

	code, out, _ := call(t, "", "--help")
	assert.Equal(t, exitOK, code)
	for _, name := range order {
		assert.Contains(t, out, "gometal "+name)
	}
}

func TestHelp(t *testing.T) {
	for _, name := range order {
		for _, h := range []string{"-h", "--help"} {
			code, out, _ := call(t, "", name, h)
			assert.Equal(t, exitOK, code, "%s %s", name, h)
			assert.Contains(t, out, "usage: gometal "+name)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"build"},
		{"build", "a", "b"},
		{"build", "./x", "-o"},
		{"build", "./x", "--", "y"},
		{"build", "./x", "--boot", "uefi"},
		{"build", "./x", "--boot"},
		{"build", "./x", "--files", "a:relative"},
		{"build", "./x", "--files"},
		{"run"},
		{"run", "a", "b"},
		{"run", "--smp", "many", "img"},
		{"run", "--nosuchflag", "img"},
		{"run", "img", "--env", "novalue"},
		{"run", "img", "--", "nul\x00byte"},
		{"run", "img", "--env", "K=nul\x00byte"},
		{"run", "img", "--", strings.Repeat("x", 256<<10)},
		{"run", "img", "--append", strings.Repeat("x", 4096)},
		{"iso", "img", "-o", "x.iso", "--append", strings.Repeat("x", 4096)},
		{"test", "./x", "--smp", "x"},
		{"test", "./x", "--timeout", "soon"},
		{"test", "./x", "-timeout", "soon"},
		{"test", "./x", "./y", "-cpuprofile", "c.out"},
		{"test", "./x", "-fuzz", "FuzzX"},
		{"test", "./x", "-o", "x.img"},
		{"test", "./x", "-run", "nul\x00byte"},
		{"test", "./x", "-p", "0"},
		{"symbolize"},
		{"symbolize", "a", "b", "c"},
		{"iso"},
		{"iso", "img"},
		{"iso", "img", "-o"},
		{"iso", "img", "-o", "x.iso", "--", "nul\x00byte"},
		{"conformance", "extra"},
		{"conformance", "-shard", "3/2"},
		{"conformance", "-run", "("},
		{"stdtest", "extra"},
		{"stdtest", "-shard", "0/2"},
		{"stdtest", "-pkgs", "nosuch/pkg"},
		{"stdtest", "-reuse"},
		{"trapcheck"},
		{"trapcheck", "a", "b"},
		{"info"},
		{"info", "a", "b"},
	} {
		code, _, errOut := call(t, "", args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.Contains(t, errOut, "usage: gometal "+args[0], "%q", args)
	}
}

func TestParseGoArgs(t *testing.T) {
	g, err := parseGoArgs([]string{"-tags", "x", "-o", "img", "-trimpath", "--files", "a", "./cmd", "--gcflags=-N", "--smp=2", "--files=b:/c", "--", "-test.v"}, "o", "smp", "files")
	require.NoError(t, err)
	assert.Equal(t, []string{"-tags", "x", "-trimpath", "--gcflags=-N"}, g.goFlags)
	assert.Equal(t, "./cmd", g.pkg)
	assert.Equal(t, map[string]string{"o": "img", "smp": "2", "files": "b:/c"}, g.ours)
	assert.Equal(t, []string{"a", "b:/c"}, g.all["files"], "repeatable")
	assert.Equal(t, []string{"-test.v"}, g.rest)
}

func TestKernelCmdline(t *testing.T) {
	got, err := kernelCmdline([]string{"quiet", "cwd=/x", "cwd=/a dir"})
	require.NoError(t, err)
	assert.Equal(t, `quiet cwd=/x "cwd=/a dir"`, got)
	for _, bad := range []string{"", `q"uote`} {
		_, err = kernelCmdline([]string{bad})
		assert.Error(t, err, "%q", bad)
	}
}

// TestProgramArgsLimit: arguments up to the limit pass the check, one byte
// more is refused before boot with a message that names the limit.
func TestProgramArgsLimit(t *testing.T) {
	fits := strings.Repeat("x", 256<<10-9)
	p, err := newProgramArgs(nil, []string{fits})
	require.NoError(t, err)
	assert.Equal(t, []string{fits}, p.args)
	_, err = newProgramArgs(nil, []string{fits + "x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argument list too long: 262145 bytes")
	p, err = newProgramArgs(nil, nil)
	require.NoError(t, err)
	assert.Nil(t, p.args, "no block without arguments or environment")
}

func TestDefaultImageName(t *testing.T) {
	assert.Equal(t, "hello.elf", defaultImageName("./examples/hello"))
	assert.Equal(t, "hello.elf", defaultImageName("./examples/hello/"))
	assert.Equal(t, "app.elf", defaultImageName("example.com/x/app"))
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Base(wd)+".elf", defaultImageName("."))
}

// linkProg links testdata/prog with the image layout (entering the
// runtime's entry point, as a stand-in for the boot stub) and returns the
// unpatched ELF's path.
func linkProg(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "prog.elf")
	cmd := exec.Command("go", "build", "-ldflags",
		"-T 0x200000 -E _rt0_amd64_linux -B 0x"+strings.Repeat("0", 64), "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "prog")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	return out
}
