package conformance

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Shard is one part of a run split into N parts: K in 1..N.
type Shard struct{ K, N int }

// ParseShard parses "K/N" (1 <= K <= N); "" is the whole run, 1/1.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{1, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("bad shard %q: want K/N with 1 <= K <= N", s)
	}
	return Shard{k, n}, nil
}

// Select keeps the tests whose names match run (nil keeps all), then
// every N-th of those starting at the K-th, so that the shards 1/N .. N/N
// together cover the selection once.
func Select(tests []Test, run *regexp.Regexp, sh Shard) []Test {
	var out []Test
	i := 0
	for _, t := range tests {
		if run != nil && !run.MatchString(t.Name) {
			continue
		}
		if i%sh.N == sh.K-1 {
			out = append(out, t)
		}
		i++
	}
	return out
}

// MissingShards returns, for the selections of merged runs ("-shard K/N",
// as Env.Selection records them), the shards of N that none of them
// covers, such as "11/12, 12/12", or "" when they cover every shard (or
// are not shards of one N). Selections without a shard (reruns) are
// ignored.
func MissingShards(selections []string) string {
	seen := map[int]bool{}
	n := 0
	for _, s := range selections {
		_, v, ok := strings.Cut(s, "-shard ")
		if !ok {
			continue // a rerun of some programs
		}
		v, _, _ = strings.Cut(v, " ")
		sh, err := ParseShard(v)
		if err != nil || (n != 0 && sh.N != n) {
			return ""
		}
		n = sh.N
		seen[sh.K] = true
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if !seen[k] {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	return strings.Join(missing, ", ")
}
