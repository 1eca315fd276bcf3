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
	os.Exit(m.Run())
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

// fake writes spec and a wrapper script that runs the fake QEMU with it,
// plus an empty image; it returns the script's and the image's paths.
func fake(t *testing.T, spec fakeSpec) (qemuPath, image string) {
	t.Helper()
	dir := t.TempDir()
	self, err := os.Executable()
	require.NoError(t, err)
	data, err := json.Marshal(spec)
	require.NoError(t, err)
	specPath := filepath.Join(dir, "spec.json")
	require.NoError(t, os.WriteFile(specPath, data, 0o644))
	qemuPath = filepath.Join(dir, "qemu-system-x86_64")
	script := fmt.Sprintf("#!/bin/sh\n%s=%q exec %q \"$@\"\n", fakeSpecEnv, specPath, self)
	require.NoError(t, os.WriteFile(qemuPath, []byte(script), 0o755))
	image = filepath.Join(dir, "image.elf")
	require.NoError(t, os.WriteFile(image, nil, 0o644))
	return qemuPath, image
}
