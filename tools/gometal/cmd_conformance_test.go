package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gometal/gometal/tools/conformance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConformanceList lists a part of the real $GOROOT/test without
// building anything: kinds and skip reasons as the driver's recipes say.
func TestConformanceList(t *testing.T) {
	code, out, errOut := call(t, "", "conformance", "-list", "-run", `^(fixedbugs/(issue20014|issue30908|bug248|issue36437)|args|index0|asmhdr|nilptr_aix)\.go$`)
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, "args.go\trun\t\n"+
		"asmhdr.go\tbuildrundir\t\n"+
		"fixedbugs/bug248.go\terrorcheckandrundir\t\n"+
		"fixedbugs/issue20014.go\trunindir\t\n"+
		"fixedbugs/issue30908.go\trundir\t\n"+
		"fixedbugs/issue36437.go\trun\truns the go command (os/exec)\n"+
		"index0.go\trunoutput\t\n"+
		"nilptr_aix.go\trun\t//go:build aix\n", out)
}

// TestConformanceMerge reports two saved shards together, and marks a
// merge of only some shards as partial.
func TestConformanceMerge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, sel string, tests ...string) string {
		var rs []conformance.Result
		for _, n := range tests {
			rs = append(rs, conformance.Result{Test: conformance.Test{Name: n}, Status: conformance.Pass})
		}
		rec := conformance.Record{
			Env:  conformance.Env{Date: time.Now(), Selection: sel, Took: time.Minute, Jobs: 2},
			Runs: []conformance.ConfigResults{{Config: conformance.Config{SMP: 1}, Results: rs}},
		}
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return path
	}
	a := write("a.json", "-shard 1/3", "x.go")
	b := write("b.json", "-shard 2/3", "y.go", "w.go")
	md := filepath.Join(dir, "conformance.md")
	code, out, errOut := call(t, "", "conformance", "-merge", a+","+b, "-o", md)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "1 CPU: 3 passed, 0 failed")
	doc, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Contains(t, string(doc), "- selection: **PARTIAL RUN**, shards 3/3 missing; ran -shard 1/3; -shard 2/3")
	assert.Contains(t, string(doc), "w.go, x.go, y.go")
	assert.Contains(t, string(doc), "- took: 2m0s")

	code, _, _ = call(t, "", "conformance", "-merge", filepath.Join(dir, "missing.json"))
	assert.Equal(t, exitFailure, code)
}
