package bench

import (
	"io"
	"path/filepath"
	"runtime"
	"time"
)

// Config says what Run measures and where it keeps its files.
type Config struct {
	Root    string        // the gometal module's root
	Build   string        // where the workload is built; "" means Root/build/bench/work
	Cache   string        // where Debian's kernel is kept; "" means Root/build/bench/debian
	Repeats int           // boots of every step on each side; 0 means 3
	CPUs    []int         // vCPU counts of the parallel rows; nil means DefaultCPUs()
	Scale   float64       // the workload's -scale; 0 means 1
	HeapMiB int           // the gc test's live heap; 0 means 16
	Mem     string        // guest memory unless a step says otherwise; "" means 256M
	Timeout time.Duration // per guest run; 0 means 120s
	MinMem  bool          // bisect the smallest -m that boots hello world
	NetSMP  int           // vCPUs of the network rows; 0 means 1
	Load    Load          // how the host drives the HTTP server; zero fields mean DefaultLoad's
	Plan    []Step        // the steps; nil means DefaultPlan
	Log     io.Writer     // progress lines; nil discards them
	Console io.Writer     // every guest's serial stream as it arrives, or nil
}

// withDefaults fills in Config's zero fields.
func (c Config) withDefaults() Config {
	if c.Build == "" {
		c.Build = filepath.Join(c.Root, "build", "bench", "work")
	}
	if c.Cache == "" {
		c.Cache = filepath.Join(c.Root, "build", "bench", "debian")
	}
	if c.Repeats <= 0 {
		c.Repeats = 3
	}
	if c.CPUs == nil {
		c.CPUs = DefaultCPUs()
	}
	if c.Scale <= 0 {
		c.Scale = 1
	}
	if c.HeapMiB <= 0 {
		c.HeapMiB = 16
	}
	if c.Mem == "" {
		c.Mem = "256M"
	}
	if c.Timeout <= 0 {
		c.Timeout = 120 * time.Second
	}
	if c.NetSMP <= 0 {
		c.NetSMP = 1
	}
	c.Load = c.Load.withDefaults()
	if c.Plan == nil {
		c.Plan = DefaultPlan(c)
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// DefaultCPUs are the vCPU counts of the parallel rows: 1, 2, 4 and 8, as
// far as the host has cores for them (TCG runs one host thread per vCPU).
func DefaultCPUs() []int {
	cpus := []int{1}
	for n := 2; n <= 8 && n <= runtime.NumCPU(); n *= 2 {
		cpus = append(cpus, n)
	}
	return cpus
}
