package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowBuildNotice: a build that outlasts slowAfter gets one line on
// standard error, a quick one none.
func TestSlowBuildNotice(t *testing.T) {
	old := slowAfter
	slowAfter = 20 * time.Millisecond
	defer func() { slowAfter = old }()
	var buf bytes.Buffer
	n := &notice{w: &buf, msg: "gometal: building\n"}
	n.start()() // stopped at once
	time.Sleep(60 * time.Millisecond)
	assert.Empty(t, buf.String())
	stop := n.start()
	time.Sleep(60 * time.Millisecond)
	stop()
	stop = n.start()
	time.Sleep(60 * time.Millisecond)
	stop()
	assert.Equal(t, "gometal: building\n", buf.String(), "said once")
}

// TestInstalledCLIInOtherModule installs the CLI as the README says (go
// install from a clone, here go build -o, which is the same build) and
// uses it in a fresh module that requires nothing from gometal: build an
// image, run it with arguments, and test a package there.
func TestInstalledCLIInOtherModule(t *testing.T) {
	needImages(t)
	bin := filepath.Join(t.TempDir(), "gometal")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	mod := filepath.Join(t.TempDir(), "my module") // a space: the cwd= option and go.work must carry it
	write := func(name, src string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(mod, name), []byte(src), 0o644))
	}
	write("go.mod", "module example.com/elsewhere\n\ngo 1.26\n")
	write("main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() { fmt.Printf(\"args %q\\n\", os.Args[1:]) }\n")
	write("calc/calc.go", "package calc\n\n// Double doubles.\nfunc Double(x int) int { return 2 * x }\n")
	write("calc/calc_test.go", "package calc\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestDouble(t *testing.T) {\n\tif Double(2) != 4 {\n\t\tt.Fatal(Double(2))\n\t}\n\tif _, err := os.Stat(\"testdata/x.txt\"); err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n")
	write("calc/testdata/x.txt", "in the package directory\n")
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	require.NoError(t, err)

	gm := func(args ...string) (string, string, error) {
		c := exec.Command(bin, args...)
		c.Dir = mod
		c.Env = append(os.Environ(), "GOMETAL_ROOT=") // found from the binary, as installed
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		return stdout.String(), stderr.String(), err
	}
	stdout, stderr, err := gm("build", "-o", "app.img", ".")
	require.NoError(t, err, "%s%s", stdout, stderr)
	assert.Contains(t, stdout, "image: app.img (")
	stdout, stderr, err = gm("run", "app.img", "--", "a b", "")
	require.NoError(t, err, "%s%s", stdout, stderr)
	assert.Contains(t, stdout, `args ["a b" ""]`)
	stdout, stderr, err = gm("test", "./...")
	require.NoError(t, err, "%s%s", stdout, stderr)
	assert.Regexp(t, `(?m)^ok  \texample.com/elsewhere/calc\t`, stdout)
	assert.Contains(t, stdout, "?   \texample.com/elsewhere\t[no test files]")

	after, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, string(gomod), string(after), "the module's go.mod is untouched")
	assert.NoFileExists(t, filepath.Join(mod, "go.work"))
	assert.False(t, strings.Contains(string(after), "gometal"))
}

// TestReadmeListsCommands: the README's command table names every command
// the CLI has.
func TestReadmeListsCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	assert.Len(t, order, len(commands), "order lists every command")
	for name := range commands {
		assert.Contains(t, string(readme), "| `gometal "+name+" ", "README.md's command table lacks %s", name)
	}
}
