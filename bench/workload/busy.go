package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuBusy returns each CPU's cumulative busy time in milliseconds, from
// /proc/stat on Linux or /proc/gometal/sched on gometal, or nil when
// neither is readable.
func cpuBusy() []float64 {
	if b, err := os.ReadFile("/proc/gometal/sched"); err == nil {
		return gometalBusy(b)
	}
	mountProc()
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		return linuxBusy(b)
	}
	return nil
}

// mountProc mounts procfs on /proc when the workload is Linux's init (the
// initramfs has only an empty directory there).
func mountProc() {
	if os.Getpid() != 1 {
		return
	}
	if _, err := os.Stat("/proc/stat"); err == nil {
		return
	}
	unix.Mount("proc", "/proc", "proc", 0, "")
}

// gometalBusy reads the busy_ms column of the per-CPU table.
func gometalBusy(b []byte) []float64 {
	var out []float64
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			break // the blank line before the thread table
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// linuxBusy sums user, nice, system, irq and softirq of each cpuN line
// (in USER_HZ = 100 ticks per second).
func linuxBusy(b []byte) []float64 {
	var out []float64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var ticks float64
		for _, i := range []int{1, 2, 3, 6, 7} {
			v, _ := strconv.ParseFloat(f[i], 64)
			ticks += v
		}
		out = append(out, ticks*10)
	}
	return out
}

// printBusy prints the mean and the lowest per-CPU busy share between two
// cpuBusy readings over wallMs of wall time.
func printBusy(before, after []float64, wallMs float64) {
	if len(before) == 0 || len(before) != len(after) || wallMs <= 0 {
		printNA("parallel.busy.mean", "per-CPU busy time not readable")
		printNA("parallel.busy.min", "per-CPU busy time not readable")
		return
	}
	sum, low := 0.0, 100.0
	for i := range before {
		p := min(100*(after[i]-before[i])/wallMs, 100)
		sum += p
		low = min(low, p)
	}
	printResult("parallel.busy.mean", sum/float64(len(before)), "%")
	printResult("parallel.busy.min", low, "%")
}
