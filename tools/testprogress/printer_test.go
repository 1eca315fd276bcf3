package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock advances by a second per reading.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func TestPrinter(t *testing.T) {
	events := strings.Join([]string{
		`{"Action":"start","Package":"a"}`,
		`{"Action":"start","Package":"b"}`,
		`{"Action":"output","Package":"b","Test":"TestX","Output":"=== RUN   TestX\n"}`,
		`{"Action":"output","Package":"b","Test":"TestX","Output":"    x_test.go:3: boom\n"}`,
		`{"Action":"fail","Package":"b","Test":"TestX","Elapsed":0.1}`,
		`{"Action":"output","Package":"b","Output":"FAIL\n"}`,
		`{"Action":"output","Package":"b","Output":"FAIL\tb\t0.200s\n"}`,
		`{"Action":"fail","Package":"b","Elapsed":0.2}`,
		`{"ImportPath":"c [c.test]","Action":"build-output","Output":"# c\n"}`,
		`{"ImportPath":"c [c.test]","Action":"build-output","Output":"c.go:1: syntax error\n"}`,
		`{"ImportPath":"c [c.test]","Action":"build-fail"}`,
		`{"Action":"start","Package":"d"}`,
		`{"Action":"output","Package":"d","Output":"?   \td\t[no test files]\n"}`,
		`{"Action":"skip","Package":"d","Elapsed":0}`,
		`{"Action":"start","Package":"e"}`,
		`{"Action":"output","Package":"e","Output":"ok  \te\t(cached)\n"}`,
		`{"Action":"pass","Package":"e","Elapsed":0}`,
		`not json`,
	}, "\n") + "\n"
	var out bytes.Buffer
	clock := &fakeClock{}
	p := newPrinter(&out, clock.now)
	require.NoError(t, p.consume(strings.NewReader(events)))
	p.running()
	p.handle(event{Action: "output", Package: "a", Output: "ok  \ta\t5.000s\n"})
	p.handle(event{Action: "pass", Package: "a", Elapsed: 5})
	p.summary()
	assert.Equal(t, "=== RUN   TestX\n    x_test.go:3: boom\nFAIL\tb\t0.200s\n"+
		"# c\nc.go:1: syntax error\n"+
		"?   \td\t[no test files]\n"+
		"ok  \te\t(cached)\n"+
		"not json\n"+
		"... 5s: 3 packages done, running: a (4s)\n"+
		"ok  \ta\t5.000s\n"+
		"FAIL: 4 packages in 6s\n", out.String())
	assert.True(t, p.failed)
}

// TestRunGoTest runs a real go test through testprogress: a passing and a
// failing package of a scratch module, and the exit status.
func TestRunGoTest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	write("go.mod", "module example.com/tp\n\ngo 1.26\n")
	write("good/good_test.go", "package good\n\nimport \"testing\"\n\nfunc TestOK(t *testing.T) {}\n")
	write("bad/bad_test.go", "package bad\n\nimport \"testing\"\n\nfunc TestNo(t *testing.T) { t.Fatal(\"no\") }\n")
	var out, errOut bytes.Buffer
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(dir))
	defer os.Chdir(wd)
	code := run(context.Background(), []string{"-count=1", "./..."}, &out, &errOut)
	assert.Equal(t, 1, code, errOut.String())
	assert.Regexp(t, `(?m)^ok  \texample.com/tp/good\t\d+\.\d{3}s$`, out.String())
	assert.Regexp(t, `(?m)^FAIL\texample.com/tp/bad\t\d+\.\d{3}s$`, out.String())
	assert.Contains(t, out.String(), "bad_test.go:5: no")
	assert.Regexp(t, `(?m)^FAIL: 2 packages in \d+s$`, out.String())
}
