package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
)

// Meta says where and how a table was measured.
type Meta struct {
	Date    time.Time
	Host    string // OS, CPU model and count
	QEMU    string // qemu-system-x86_64 --version, first line; the firmware of q35 and pc boots
	Go      string
	Linux   string // the Debian kernel package
	Load    string // the host's 1-minute load average at the start and the end
	Repeats int
	Scale   float64
	HeapMiB int
	// Net describes the network rows' setup; "" when the plan has none.
	Net string
}

// Collect describes this host and run; loadStart is LoadAverage at the
// start of the run.
func Collect(ctx context.Context, cfg Config, k DebianKernel, loadStart string) Meta {
	m := Meta{Date: time.Now().UTC(), Go: runtime.Version(), Linux: k.Package,
		Repeats: cfg.Repeats, Scale: cfg.Scale, HeapMiB: cfg.HeapMiB,
		Load: fmt.Sprintf("%s at the start, %s at the end", loadStart, LoadAverage())}
	if slices.ContainsFunc(cfg.Plan, func(st Step) bool { return st.HTTP }) {
		l := cfg.Load
		m.Net = fmt.Sprintf("%s as the server on both sides (Linux: %s as /init loads %s and their dependencies, sets eth0 10.0.2.15/24); "+
			"host load: %d keep-alive connections, %v warm-up, %v measured, then %d GETs of %s",
			ServerPkg, NetinitPkg, strings.Join(NetModules, ", "), l.Conns, l.Warmup, l.Duration, max(l.Bulk, 0), sizeName(l.BulkBytes))
	}
	if out, err := exec.CommandContext(ctx, qemu.DefaultQEMU, "--version").Output(); err == nil {
		m.QEMU, _, _ = strings.Cut(string(out), "\n")
		m.QEMU += "; firmware on q35 and pc: " + (qemu.Options{}).Firmware()
	}
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	m.Host = fmt.Sprintf("%s %s, %d CPUs (%s), QEMU TCG (no KVM)",
		runtime.GOOS, strings.TrimSpace(string(release)), runtime.NumCPU(), cpuModel())
	return m
}

// cpuModel returns the host CPU's model name from /proc/cpuinfo.
func cpuModel() string {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	sc := bufio.NewScanner(bytes.NewReader(info))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// LoadAverage returns the host's 1-minute load average, "?" if unknown:
// other work on the host slows the guests down, more so under TCG.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
