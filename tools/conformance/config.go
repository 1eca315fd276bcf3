package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is one way of booting the programs: how many CPUs and which
// kernel options. A run may cover several (the report then has a line for
// each), so that one report shows that, say, aggressive kernel time slices
// change no program's output on one CPU or on four.
type Config struct {
	SMP    int    // CPUs, at least 1
	Append string // kernel options, such as slice=1ms
}

// ParseConfig parses "CPUS" or "CPUS:KERNEL OPTIONS", such as "4:slice=1ms".
func ParseConfig(s string) (Config, error) {
	n, opts, _ := strings.Cut(s, ":")
	smp, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || smp < 1 || smp > 255 {
		return Config{}, fmt.Errorf("bad configuration %q: want CPUS[:KERNEL OPTIONS], CPUS from 1 to 255", s)
	}
	return Config{SMP: smp, Append: strings.TrimSpace(opts)}, nil
}

// String describes c for people: "4 CPUs, slice=1ms".
func (c Config) String() string {
	s := fmt.Sprintf("%d CPUs", c.SMP)
	if c.SMP == 1 {
		s = "1 CPU"
	}
	if c.Append != "" {
		s += ", " + c.Append
	}
	return s
}

// ConfigResults are the results of the selection booted one way.
type ConfigResults struct {
	Config  Config
	Results []Result // in the order of the selection
	Elapsed time.Duration
}
