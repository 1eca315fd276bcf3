package conformance

import (
	"fmt"
	"sort"
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

// Record is a run saved as JSON (gometal conformance -json), so that the
// shards of a long run can be reported together (-merge).
type Record struct {
	Env  Env
	Runs []ConfigResults
}

// Merge joins the records of runs of different parts of the set (such as
// shards) with the same configurations: each configuration's results are
// put together in name order, its boot times and the wall-clock times
// added; the date is the latest. A program in more than one record (a
// rerun) keeps its last result, noted as a rerun, with the per-boot time
// limit of that record when it differs from the first's.
func Merge(recs []Record) (Record, error) {
	if len(recs) == 0 {
		return Record{}, fmt.Errorf("nothing to merge")
	}
	out := Record{Env: recs[0].Env}
	out.Env.Took = 0
	index := make([]map[string]int, len(recs[0].Runs))
	for c, r := range recs[0].Runs {
		out.Runs = append(out.Runs, ConfigResults{Config: r.Config})
		index[c] = map[string]int{}
	}
	for _, rec := range recs {
		if len(rec.Runs) != len(out.Runs) {
			return Record{}, fmt.Errorf("records of different configurations: %d and %d", len(out.Runs), len(rec.Runs))
		}
		for c, r := range rec.Runs {
			if r.Config != out.Runs[c].Config {
				return Record{}, fmt.Errorf("records of different configurations: %s and %s", out.Runs[c].Config, r.Config)
			}
			for _, res := range r.Results {
				i, rerun := index[c][res.Test.Name]
				if !rerun {
					index[c][res.Test.Name] = len(out.Runs[c].Results)
					out.Runs[c].Results = append(out.Runs[c].Results, res)
					continue
				}
				note := "rerun"
				if rec.Env.Timeout != out.Env.Timeout {
					note += fmt.Sprintf(" with %v per boot", rec.Env.Timeout)
				}
				res.Reason = strings.TrimPrefix(res.Reason+"; "+note, "; ")
				out.Runs[c].Results[i] = res
			}
			out.Runs[c].Elapsed += r.Elapsed
		}
		out.Env.Took += rec.Env.Took
		if rec.Env.Date.After(out.Env.Date) {
			out.Env.Date = rec.Env.Date
		}
	}
	for c := range out.Runs {
		rs := out.Runs[c].Results
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Test.Name < rs[j].Test.Name })
	}
	return out, nil
}
