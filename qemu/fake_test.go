package qemu_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The test binary doubles as a fake qemu-system-x86_64: a wrapper script
// sets one of these variables and execs it.
const (
	fakeSpecEnv  = "GOMETAL_FAKE_QEMU"       // path of a JSON fakeSpec
	fakeSleepEnv = "GOMETAL_FAKE_QEMU_SLEEP" // be a child that just sleeps
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeSleepEnv) != "" {
		time.Sleep(2 * time.Minute)
		os.Exit(0)
	}
	if spec := os.Getenv(fakeSpecEnv); spec != "" {
		os.Exit(fakeQEMU(spec, os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "gometal-fake-qemu-")
	if err != nil {
		panic(err)
	}
	if fakeScript, err = writeFakeScript(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	removeSharedSuite()
	os.Exit(code)
}

// fakeScript is the one wrapper script every fake QEMU links to. It is
// written before any test runs: an executable written while parallel
// tests fork can fail to start with "text file busy" (a forked child
// holds the file open for writing until it execs).
var fakeScript string

// writeFakeScript writes the wrapper into dir: it runs the test binary as
// QEMU with the spec.json beside the link it was started through.
func writeFakeScript(dir string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "fake-qemu")
	script := fmt.Sprintf("#!/bin/sh\n%s=\"$(dirname \"$0\")/spec.json\" exec %q \"$@\"\n", fakeSpecEnv, self)
	return path, os.WriteFile(path, []byte(script), 0o755)
}

// fakeSpec says what the fake QEMU does, in this order.
type fakeSpec struct {
	ArgsFile     string        // write the arguments here (JSON)
	ChildPIDFile string        // start a sleeping child holding stdout; write its pid here
	Console      string        // write to stdout (the serial console)
	Stderr       string        // write to stderr
	EchoStdin    bool          // copy stdin to stdout until EOF
	Sleep        time.Duration // then sleep
	Status       int           // then exit with this status
}

// fakeQEMU acts out the spec at path and returns the exit status.
func fakeQEMU(path string, args []string) int {
	var spec fakeSpec
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake qemu:", err)
		return 100
	}
	if spec.ArgsFile != "" {
		data, _ := json.Marshal(args)
		os.WriteFile(spec.ArgsFile, data, 0o644)
	}
	if spec.ChildPIDFile != "" {
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), fakeSleepEnv+"=1")
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fake qemu:", err)
			return 100
		}
		os.WriteFile(spec.ChildPIDFile, []byte(strconv.Itoa(child.Process.Pid)), 0o644)
	}
	os.Stdout.WriteString(spec.Console)
	os.Stderr.WriteString(spec.Stderr)
	if spec.EchoStdin {
		io.Copy(os.Stdout, os.Stdin)
	}
	time.Sleep(spec.Sleep)
	return spec.Status
}

// fake writes spec and links the wrapper script that runs the fake QEMU
// with it, plus an empty image; it returns the link's and the image's paths.
func fake(t *testing.T, spec fakeSpec) (qemuPath, image string) {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spec.json"), data, 0o644))
	qemuPath = filepath.Join(dir, "qemu-system-x86_64")
	require.NoError(t, os.Symlink(fakeScript, qemuPath))
	image = filepath.Join(dir, "image.elf")
	require.NoError(t, os.WriteFile(image, nil, 0o644))
	return qemuPath, image
}
