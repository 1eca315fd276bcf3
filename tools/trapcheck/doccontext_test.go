package trapcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gometalModule = "github.com/gometal/gometal"

// TestDocContextHello enforces the design rule that every trap-context
// function's own doc comment states its context: each function of this
// module that the checker finds reachable from a trap entry in an image
// of examples/hello must have "Context:" in its doc comment.
func TestDocContextHello(t *testing.T) {
	root, _, r := checkHello(t)
	res, err := AuditDocs(gometalModule, root, r.Functions)
	require.NoError(t, err)
	t.Logf("audited %d declarations; skipped %d symbols:\n  %s", res.Checked, len(res.Skipped), strings.Join(res.Skipped, "\n  "))
	assert.Greater(t, res.Checked, 50, "the audit found the kernel's declarations")
	assert.Empty(t, res.Undeclared, "reachable symbols with no declaration found")
	assert.Empty(t, res.Missing, "reachable functions whose doc comment lacks \"Context:\" (%d):\n  %s",
		len(res.Missing), strings.Join(res.Missing, "\n  "))
}

// TestAuditDocs checks the symbol-to-declaration mapping on a small
// package written here.
func TestAuditDocs(t *testing.T) {
	dir := t.TempDir()
	src := `package k

// Context: trap; does not allocate.
func good() {}

// bad has a doc comment without a context.
func bad() {}

func none() {}

type t struct{}

type g[T any] struct{ v T }

// Context: any.
func (t) val() {}

// ptr says nothing.
func (*t) ptr() {}

// Context: trap.
func (*g[T]) get() {}

// Context: trap.
func asm()
`
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "k"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "k", "k.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "k", "k_amd64.s"), []byte("TEXT ·asm(SB),0,$0\nTEXT ·only(SB),0,$0\n"), 0o644))
	syms := []string{
		"m/k.good", "m/k.bad", "m/k.none", "m/k.t.val", "m/k.(*t).val",
		"m/k.(*t).ptr", "m/k.(*g[go.shape.int]).get", "m/k.asm.abi0", "m/k.only.abi0",
		"m/k.good.func1", "m/k.bad.gowrap2", "m/k.t.val-fm", "m/k.missing", "other.f", "m/k.init.0",
	}
	res, err := AuditDocs("m", dir, syms)
	require.NoError(t, err)
	assert.Equal(t, []string{"m/k.(*t).ptr (k/k.go:19)", "m/k.bad (k/k.go:7)", "m/k.none (k/k.go:9)"}, res.Missing)
	assert.Equal(t, []string{"m/k.missing"}, res.Undeclared)
	assert.Equal(t, 7, res.Checked)
	assert.Len(t, res.Skipped, 6)
}
