package kernel

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/syscalls.md from the system-call table")

// TestSyscallTable checks every row: a Linux call of that number, a
// support level (and none for a number without a handler), and a note
// wherever the behaviour differs from Linux's.
func TestSyscallTable(t *testing.T) {
	rows := 0
	require.LessOrEqual(t, len(syscallSupport), len(syscallTable), "a support level past the table's last handler")
	for nr := range syscallTable {
		handler := handlerOf(nr)
		level := supportOf(nr)
		if handler == nil {
			assert.Zero(t, level, "number %d has a support level but no handler", nr)
			continue
		}
		rows++
		name := abi.SyscallName(uint64(nr))
		assert.NotEmpty(t, name, "number %d is not a Linux amd64 system call", nr)
		assert.Contains(t, []support{supFull, supPartial, supFixed}, level, "%s: support level", name)
		if level != supFull {
			assert.NotEmpty(t, syscallNotes[nr], "%s: a partial or fixed call says how in its note", name)
		}
	}
	assert.Greater(t, rows, 100)
	for nr, note := range syscallNotes {
		if note != "" {
			require.Less(t, nr, len(syscallTable), "the note for %d has no row", nr)
			assert.NotNil(t, handlerOf(nr), "%s: a note for a call the kernel does not answer", abi.SyscallName(uint64(nr)))
		}
	}
}

// handlerOf returns the handler that serves call nr: its at form's for a
// legacy path call (legacyCalls), nil for none.
func handlerOf(nr int) sysHandler {
	if at := atCallNr(uint64(nr)); at < uint64(len(syscallTable)) {
		return syscallTable[at]
	}
	return nil
}

// supportOf returns call nr's support level, 0 for none.
func supportOf(nr int) support {
	if nr < len(syscallSupport) {
		return syscallSupport[nr]
	}
	return 0
}

// TestSyscallTableDispatch runs calls through doSyscall's table on the
// host: fixed-result calls, an errno-only call and an unknown number.
func TestSyscallTableDispatch(t *testing.T) {
	call := func(nr uint64) int64 {
		h := syscallTable[nr]
		require.NotNil(t, h, "no handler for %d", nr)
		threadtab.Threads[0].RestartNr = nr // doSyscall's record of the call: doFixed's and doNoFastCopy's number
		return h(nil, 0, sysArgs{})
	}
	assert.EqualValues(t, 1, call(39), "getpid")
	assert.EqualValues(t, 1, call(186), "gettid of thread 0")
	assert.EqualValues(t, 0, call(102), "getuid")
	assert.EqualValues(t, 0, call(162), "sync")
	assert.EqualValues(t, -10, call(61), "wait4: ECHILD")
	assert.EqualValues(t, -10, call(247), "waitid: ECHILD")
	assert.EqualValues(t, 0, call(275), "splice of 0 bytes: 0, as Linux")
	assert.Nil(t, syscallTable[7], "poll has no handler: ENOSYS")
}

// TestSyscallsDoc checks that docs/syscalls.md is what the table says;
// go test ./kernel -run TestSyscallsDoc -update rewrites it.
func TestSyscallsDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "syscalls.md")
	want := syscallsDoc()
	if *updateDocs {
		require.NoError(t, os.WriteFile(path, want, 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got),
		"docs/syscalls.md is out of date: run go test ./kernel -run TestSyscallsDoc -update")
}

// syscallsDoc renders the table as docs/syscalls.md: every Linux amd64
// system call, with the kernel's support for it.
func syscallsDoc() []byte {
	var rows bytes.Buffer
	count := map[support]int{}
	enosys := 0
	for nr := range abi.NumSyscalls {
		name := abi.SyscallName(uint64(nr))
		if name == "" {
			continue
		}
		var handler sysHandler
		note := ""
		if nr < len(syscallTable) {
			handler = handlerOf(nr)
		}
		if nr < len(syscallNotes) {
			note = syscallNotes[nr]
		}
		level := "ENOSYS"
		switch {
		case handler == nil:
			enosys++
		default:
			count[supportOf(nr)]++
			level = [...]string{supFull: "yes", supPartial: "partial", supFixed: "fixed"}[supportOf(nr)]
		}
		fmt.Fprintf(&rows, "| %d | %s | %s | %s |\n", nr, name, level, note)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `# System calls

Generated from the kernel's system-call table (kernel/systable.go) by
`+"`go test ./kernel -run TestSyscallsDoc -update`"+`; the test fails when
this file and the table differ.

Every Linux x86-64 system call, with what the kernel does with it:

- **yes**: as on Linux, for everything a single-process program can ask;
- **partial**: the common uses as on Linux, the note says what is missing
  and what error the rest gets;
- **fixed**: a fixed answer that is true of the machine (one process, run
  as root; nothing to write back), or accepted without effect;
- **ENOSYS**: not implemented; the first call of each is logged by name
  ("unimplemented system call poll (7): returning ENOSYS").

%d yes, %d partial, %d fixed, %d ENOSYS.

| # | call | support | note |
|---|------|---------|------|
`, count[supFull], count[supPartial], count[supFixed], enosys)
	b.Write(rows.Bytes())
	return b.Bytes()
}

// TestLegacyCalls: each legacy path call becomes its at form with the
// arguments Linux's own wrappers give it (AT_FDCWD for the directories,
// the flags the call implies), pipe becomes pipe2 with no flags and
// accept accept4 with no flags (its fourth register is no argument);
// each has no handler of its own, and its at
// form has one; any other call keeps its number and arguments.
func TestLegacyCalls(t *testing.T) {
	const cwd = uintptr(1<<64 - 100) // AT_FDCWD as the register holds it
	regs := sysArgs{11, 12, 13, 14, 15, 16}
	for _, c := range []struct {
		nr, at uint64
		want   sysArgs
	}{
		{unix.SYS_OPEN, unix.SYS_OPENAT, sysArgs{cwd, 11, 12, 13, 14, 15}},
		{unix.SYS_CREAT, unix.SYS_OPENAT, sysArgs{cwd, 11, unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, 12, 13, 14}},
		{unix.SYS_STAT, unix.SYS_NEWFSTATAT, sysArgs{cwd, 11, 12, 0, 13, 14}},
		{unix.SYS_LSTAT, unix.SYS_NEWFSTATAT, sysArgs{cwd, 11, 12, unix.AT_SYMLINK_NOFOLLOW, 13, 14}},
		{unix.SYS_ACCESS, unix.SYS_FACCESSAT, sysArgs{cwd, 11, 12, 13, 14, 15}},
		{unix.SYS_READLINK, unix.SYS_READLINKAT, sysArgs{cwd, 11, 12, 13, 14, 15}},
		{unix.SYS_MKDIR, unix.SYS_MKDIRAT, sysArgs{cwd, 11, 12, 13, 14, 15}},
		{unix.SYS_MKNOD, unix.SYS_MKNODAT, sysArgs{cwd, 11, 12, 13, 14, 15}},
		{unix.SYS_UNLINK, unix.SYS_UNLINKAT, sysArgs{cwd, 11, 0, 12, 13, 14}},
		{unix.SYS_RMDIR, unix.SYS_UNLINKAT, sysArgs{cwd, 11, unix.AT_REMOVEDIR, 12, 13, 14}},
		{unix.SYS_RENAME, unix.SYS_RENAMEAT, sysArgs{cwd, 11, cwd, 12, 13, 14}},
		{unix.SYS_LINK, unix.SYS_LINKAT, sysArgs{cwd, 11, cwd, 12, 0, 13}},
		{unix.SYS_SYMLINK, unix.SYS_SYMLINKAT, sysArgs{11, cwd, 12, 13, 14, 15}},
		{unix.SYS_CHMOD, unix.SYS_FCHMODAT, sysArgs{cwd, 11, 12, 13, 14, 15}},
		{unix.SYS_CHOWN, unix.SYS_FCHOWNAT, sysArgs{cwd, 11, 12, 13, 0, 14}},
		{unix.SYS_LCHOWN, unix.SYS_FCHOWNAT, sysArgs{cwd, 11, 12, 13, unix.AT_SYMLINK_NOFOLLOW, 14}},
		{unix.SYS_PIPE, unix.SYS_PIPE2, sysArgs{11, 0, 12, 13, 14, 15}},
		{unix.SYS_ACCEPT, unix.SYS_ACCEPT4, sysArgs{11, 12, 13, 0, 14, 15}}, // accept's fourth register is no argument: no flags
	} {
		name := abi.SyscallName(c.nr)
		assert.LessOrEqual(t, c.nr, uint64(maxLegacyNr), name)
		a := regs
		assert.Equal(t, c.at, atForm(c.nr, &a), name)
		assert.Equal(t, c.want, a, name)
		assert.Equal(t, c.at, atCallNr(c.nr), name)
		assert.Nil(t, syscallTable[c.nr], "%s: a handler of its own besides its at form", name)
		assert.NotNil(t, syscallTable[c.at], "%s: its at form has no handler", name)
		assert.NotZero(t, supportOf(int(c.nr)), "%s keeps its support level", name)
	}
	assert.Len(t, legacyCalls, 18)
	a := regs
	assert.Equal(t, uint64(unix.SYS_OPENAT), atForm(unix.SYS_OPENAT, &a))
	assert.Equal(t, regs, a, "an at call keeps its arguments")
}
