package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// elfHeader returns a 64-byte ELF64 header with no program headers.
func elfHeader(class byte, typ, machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = class, 1, 1 // class, little-endian, version
	binary.LittleEndian.PutUint16(h[16:], typ)
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

// TestDescribeFile: what a file that is not a gometal image is called.
func TestDescribeFile(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte("x"))
	w.Close()
	iso := make([]byte, 0x8010)
	copy(iso[0x8001:], "CD001")
	for _, c := range []struct {
		data []byte
		want string
	}{
		{nil, "an empty file"},
		{gz.Bytes(), "a gzip-compressed file"},
		{[]byte("07070100000001000041ed"), "a cpio archive (newc)"},
		{[]byte("#!/bin/sh\necho hi\n"), "a shell script (#!/bin/sh)"},
		{[]byte("#!/usr/bin/env python3\n"), "a script (#!/usr/bin/env python3)"},
		{[]byte("module x\n\ngo 1.26\n"), "a text file"},
		{iso, "an ISO 9660 image"},
		{[]byte{0, 1, 2, 3, 0xff, 0xfe, 0, 0, 9}, "not an ELF file (it starts with 00 01 02 03 ff fe 00 00)"},
		{elfHeader(2, 2, 183), "a 64-bit ELF file for AARCH64, not x86-64"},
		{elfHeader(1, 2, 3), "a 32-bit ELF file for 386, not x86-64"},
		{elfHeader(2, 1, 62), "an ELF object file"},
		{elfHeader(2, 4, 62), "a core dump"},
		{elfHeader(2, 3, 62), "a shared library"},
		{elfHeader(2, 2, 62), "a statically linked x86-64 executable, not a Go program"},
	} {
		assert.Contains(t, describeFile(c.data), c.want, "%q", c.data[:min(len(c.data), 16)])
	}
	if ls, err := os.ReadFile("/bin/ls"); err == nil && bytes.HasPrefix(ls, []byte("\x7fELF")) {
		assert.Contains(t, describeFile(ls), "a dynamically linked Linux executable (interpreter /")
	}
	assert.Equal(t, "a statically linked Go program", describeFile(mustRead(t, linkProg(t))))
}

// mustRead returns the contents of the file at path.
func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// TestParseMemSize: QEMU's -m sizes, MiB without a unit.
func TestParseMemSize(t *testing.T) {
	for s, want := range map[string]uint64{
		"256M": 256 << 20, "256m": 256 << 20, "2G": 2 << 30, "64": 64 << 20,
		"1.5G": 3 << 29, "1048576K": 1 << 30, "1T": 1 << 40, "65536b": 65536,
	} {
		got, ok, err := parseMemSize(s)
		require.NoError(t, err, s)
		assert.True(t, ok, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "lots", "0", "-1G", "1MB", "G", "1e3M", "0x10M", "NaNM", "Inf", "99999999T"} {
		_, _, err := parseMemSize(s)
		assert.Error(t, err, "%q", s)
	}
	_, ok, err := parseMemSize("size=2G,slots=2,maxmem=4G")
	assert.NoError(t, err)
	assert.False(t, ok, "QEMU's key=value form is left to QEMU")
}

// TestRunArgumentChecks: wrong --smp, --mem and --timeout values are usage
// errors (status 2) before QEMU starts, never silent defaults.
func TestRunArgumentChecks(t *testing.T) {
	img, _ := patchedProg(t)
	bin, argsFile := fakeQEMU(t, "exit 1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--smp", "0"}, "--smp 0: want 1 to 64"},
		{[]string{"--smp", "-2"}, "--smp -2: want 1 to 64"},
		{[]string{"--smp", "65"}, "the kernel brings up at most 64 CPUs; QEMU's q35 allows 288"},
		{[]string{"--timeout", "-1s"}, "--timeout -1s is negative (--timeout 0 means no time limit)"},
		{[]string{"--mem", "lots"}, `--mem "lots": want a positive size`},
		{[]string{"--mem", "0"}, `--mem "0": want a positive size`},
		{[]string{"--mem", "1M"}, "--mem 1M is too little: this image needs at least "},
		{[]string{"--mem", "12M", "--smp", "4"}, "on 4 CPUs (first MiB and image "},
	} {
		code, _, errOut := call(t, "", append([]string{"run", img, "--qemu", bin}, c.args...)...)
		assert.Equal(t, exitUsage, code, "%q", c.args)
		assert.Contains(t, errOut, c.want, "%q", c.args)
		assert.Contains(t, errOut, "usage: gometal run", "%q", c.args)
		assert.NoFileExists(t, argsFile, "QEMU ran for %q", c.args)
	}

	// --timeout 0 is no limit, not the 60 s default, and QEMU runs.
	code, _, errOut := call(t, "", "run", img, "--qemu", bin, "--timeout", "0", "--mem", "64M")
	assert.Equal(t, 0, code, errOut)
	assert.FileExists(t, argsFile)
}

// TestBootFlagChecks: boot's checks, which gometal test shares (there a
// --smp 0 still means the default: it cannot tell a given 0 from none).
func TestBootFlagChecks(t *testing.T) {
	img, _ := patchedProg(t)
	info, err := inspectImage(img, mustRead(t, img))
	require.NoError(t, err)
	assert.NoError(t, checkBootFlags(bootFlags{}, info), "the defaults")
	assert.NoError(t, checkBootFlags(bootFlags{smp: 64, mem: "2G"}, info))
	assert.Error(t, checkBootFlags(bootFlags{smp: -1}, info))
	assert.Error(t, checkBootFlags(bootFlags{timeout: -1}, info))
	assert.Positive(t, imageEnd(info))

	initrd := filepath.Join(t.TempDir(), "big.cpio")
	require.NoError(t, os.WriteFile(initrd, nil, 0o644))
	require.NoError(t, os.Truncate(initrd, 300<<20), "a sparse file: only its size counts")
	err = checkBootFlags(bootFlags{initrd: initrd}, info)
	require.Error(t, err, "a 300 MiB initrd does not fit the default 256M")
	assert.Contains(t, err.Error(), "initrd 300.0 MiB")
}

// TestRunDescribesWrongFiles: run and info name what a wrong file is
// instead of "not an ELF64 little-endian x86-64 executable".
func TestRunDescribesWrongFiles(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "run.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	for _, cmd := range []string{"run", "info"} {
		code, _, errOut := call(t, "", cmd, script)
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, errOut, "run.sh is a shell script (#!/bin/sh), not a gometal image")
	}
	if _, err := os.Stat("/bin/ls"); err == nil {
		code, _, errOut := call(t, "", "run", "/bin/ls")
		assert.Equal(t, exitFailure, code)
		assert.Contains(t, errOut, "/bin/ls is a dynamically linked Linux executable")
		assert.False(t, strings.Contains(errOut, "not an ELF64"), errOut)
	}
}
