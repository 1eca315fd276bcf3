package trapcheck

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkHello builds examples/hello into an image and checks it with the
// kernel's policy; it returns the repository root, the image and the report.
func checkHello(t *testing.T) (root, img string, r *Report) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	for _, dir := range []string{"kernel", "boot", "sched", "drivers"} {
		trackSources(t, filepath.Join(root, dir))
	}
	img = filepath.Join(t.TempDir(), "hello.img")
	_, err = image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: root})
	require.NoError(t, err, "building examples/hello")
	r, err = CheckFile(img, Gometal())
	require.NoError(t, err)
	return root, img, r
}

// TestGometalHello checks the real kernel: examples/hello built into an
// image must pass the trap-context rules of docs/trap-context.md.
func TestGometalHello(t *testing.T) {
	_, img, r := checkHello(t)
	var out bytes.Buffer
	_, err := r.WriteTo(&out)
	require.NoError(t, err)
	t.Logf("trapcheck %s:\n%s", img, out.String())

	var msgs []string
	for _, v := range r.Violations {
		msgs = append(msgs, v.String())
	}
	assert.Empty(t, msgs, "trap-context violations in the kernel")
	assert.LessOrEqual(t, r.MaxDepth, int64(KernelStack-KernelGuard))
	for _, want := range []string{"kernel.userTrap", "kernel.kernelTrap", "kernel.kmain", "kernel.syscallEntry.abi0", "kernel.trapEnter.abi0", "kernel.apEntry64.abi0", "boot.entry32.abi0"} {
		assert.True(t, hasSuffix(r.Roots, want), "root %s resolved", want)
	}
	assert.Greater(t, r.Reachable, 50, "the walk got into the kernel")
}

func hasSuffix(names []string, suffix string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// TestGometalUserAccessRoutines reads kernel/vm's fault-tolerant access
// routines (usercopy_amd64.s) out of a built image: the exception table's
// faulting PCs are these symbols' addresses, so each must be exactly its
// one access (REP MOVSB, or one MOV of the right width through DI)
// followed by RET and nothing else, and the resume PC a lone RET.
// kernel/vm's TestAccessRoutinesCode checks the same in its test binary;
// this is the image the kernel boots.
func TestGometalUserAccessRoutines(t *testing.T) {
	_, img, _ := checkHello(t)
	b, err := openImage(img)
	require.NoError(t, err)
	routine := func(name string) []byte {
		fns := b.lookup("github.com/gometal/gometal/kernel/vm." + name)
		require.NotEmpty(t, fns, "%s is in the image", name)
		fn := fns[len(fns)-1]
		return b.code(fn)
	}
	want := map[string]string{
		"userMovs":    "REP MOVSB [RDI], [RSI]",
		"userLoad32":  "MOV EAX, [RDI]",
		"userLoad64":  "MOV RAX, [RDI]",
		"userStore32": "MOV [RDI], EAX",
		"userStore64": "MOV [RDI], RAX",
	}
	for name, access := range want {
		code := routine(name)
		in, err := decodeInst(code)
		require.NoError(t, err, name)
		assert.Equal(t, access, in.String(), name)
		ret, err := decodeInst(code[in.Len:])
		require.NoError(t, err, name)
		assert.Equal(t, "RET", ret.String(), "%s returns right after its access", name)
		assert.Len(t, code, in.Len+ret.Len, "%s holds nothing else", name)
	}
	code := routine("userFixupRet")
	in, err := decodeInst(code)
	require.NoError(t, err)
	assert.Equal(t, "RET", in.String())
	assert.Len(t, code, in.Len, "userFixupRet is one RET")
}
