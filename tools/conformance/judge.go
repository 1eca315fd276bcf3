package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
)

// judge decides a boot's outcome as the Go test driver would: exit status
// 0 and output equal to the expected. A failure's reason is one line,
// with the kernel's hint (an unimplemented system call) where it has one.
func judge(t Test, res *qemu.Result, err error, timeout time.Duration) (Status, string) {
	hint := kernelHint(res)
	switch {
	case res == nil:
		return Fail, "qemu: " + firstLine(err.Error())
	case errors.Is(err, qemu.ErrTimeout):
		return Fail, withHint(fmt.Sprintf("timeout after %v%s", timeout, lastOutput(res)), hint)
	case errors.Is(err, qemu.ErrKernelPanic):
		return Fail, "kernel panic: " + firstLine(strings.TrimPrefix(res.PanicReport, "reason: "))
	case err != nil:
		return Fail, withHint(firstLine(strings.TrimPrefix(err.Error(), "qemu: ")), hint)
	case res.ExitCode != 0:
		return Fail, withHint(fmt.Sprintf("exit status %d: %s", res.ExitCode, crash(res)), hint)
	case !bytes.Equal(res.Output, t.Want):
		return Fail, withHint(diff(res.Output, t.Want), hint)
	}
	return Pass, ""
}

// crash is the best one-line account of a failed run: the kernel's
// program-fault line, the Go runtime's panic or fatal error, or the last
// output line.
func crash(res *qemu.Result) string {
	for _, l := range strings.Split(string(res.KernelLog), "\n") {
		if _, msg, ok := strings.Cut(l, "program fault: "); ok {
			return "program fault: " + hexAddr.ReplaceAllString(msg, "0x…")
		}
	}
	for _, l := range strings.Split(string(res.Output), "\n") {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return hexAddr.ReplaceAllString(strings.TrimSpace(l), "0x…")
		}
	}
	if s := strings.TrimPrefix(lastOutput(res), ", last output: "); s != "" {
		return s
	}
	return "no output"
}

var hexAddr = regexp.MustCompile(`0x[0-9a-f]{6,}`)

// lastOutput is ", last output: LINE" for the last non-empty output line.
func lastOutput(res *qemu.Result) string {
	lines := strings.Split(strings.TrimSpace(string(res.Output)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return ", last output: " + clip(l, 80)
	}
	return ""
}

// diff describes the first difference between got and want.
func diff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("output differs at line %d: got %q, want %q", i+1, clip(gl, 60), clip(wl, 60))
		}
	}
	return "output differs"
}

// kernelHint names what the kernel said it lacks, or "".
func kernelHint(res *qemu.Result) string {
	if res == nil {
		return ""
	}
	var calls []string
	for _, l := range strings.Split(string(res.KernelLog), "\n") {
		if _, rest, ok := strings.Cut(l, "unimplemented system call "); ok {
			nr, _, _ := strings.Cut(rest, ":")
			calls = append(calls, syscallName(nr))
		}
	}
	if len(calls) == 0 {
		return ""
	}
	return "ENOSYS: " + strings.Join(calls, ", ")
}

func withHint(reason, hint string) string {
	if hint == "" {
		return reason
	}
	return reason + " [" + hint + "]"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// syscallNames names the linux/amd64 system calls a Go program may try
// that the kernel is likely not to have.
var syscallNames = map[string]string{
	"7": "poll", "13": "rt_sigaction", "22": "pipe", "23": "select", "32": "dup", "33": "dup2",
	"41": "socket", "42": "connect", "43": "accept", "49": "bind", "50": "listen",
	"56": "clone", "57": "fork", "58": "vfork", "59": "execve", "61": "wait4", "62": "kill",
	"63": "uname", "79": "getcwd", "80": "chdir", "82": "rename", "83": "mkdir", "87": "unlink",
	"96": "gettimeofday", "97": "getrlimit", "98": "getrusage", "99": "sysinfo", "102": "getuid",
	"131": "sigaltstack", "160": "setrlimit", "186": "gettid", "200": "tkill", "202": "futex",
	"204": "sched_getaffinity", "217": "getdents64", "218": "set_tid_address", "228": "clock_gettime",
	"230": "clock_nanosleep", "247": "waitid", "257": "openat", "262": "newfstatat", "263": "unlinkat",
	"270": "pselect6", "271": "ppoll", "273": "set_robust_list", "280": "utimensat",
	"288": "accept4", "290": "eventfd2", "292": "dup3", "293": "pipe2", "302": "prlimit64",
	"318": "getrandom", "332": "statx", "334": "rseq", "424": "pidfd_send_signal",
	"434": "pidfd_open", "435": "clone3", "439": "faccessat2",
}

func syscallName(nr string) string {
	if n, ok := syscallNames[nr]; ok {
		return n + " (" + nr + ")"
	}
	return nr
}
