package image

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLDFlags(t *testing.T) {
	assert.Equal(t,
		"-T 0x200000 -E github.com/gometal/gometal/boot.entry32 -B 0x0000000000000000000000000000000000000000000000000000000000000000 -checklinkname=0",
		LDFlags())
}

func TestSplitFlags(t *testing.T) {
	bf, err := splitFlags([]string{"-C", "sub", "-tags", "x", "--ldflags=-s -w", "-trimpath", "-overlay", "o.json", "-gcflags=-N -l"})
	require.NoError(t, err)
	assert.Equal(t, "sub", bf.dir)
	assert.Equal(t, []string{"-tags", "x", "-trimpath", "-gcflags=-N -l"}, bf.rest)
	assert.Equal(t, "-s -w", bf.ldflags)
	assert.Equal(t, "o.json", bf.overlay)

	bf, err = splitFlags([]string{"-ldflags", "-X a.b=1", "-ldflags=-X a.b=2"})
	require.NoError(t, err)
	assert.Equal(t, "-X a.b=2", bf.ldflags, "the last -ldflags wins, as in the go command")

	for _, bad := range [][]string{{"-o", "x"}, {"-o=x"}, {"-ldflags"}, {"-overlay"}, {"-ldflags=main=-s"}} {
		_, err := splitFlags(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestMergeLDFlags(t *testing.T) {
	assert.Equal(t, "ours", mergeLDFlags("", "ours"))
	assert.Equal(t, "-s -w ours", mergeLDFlags(" -s -w ", "ours"))
}

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module a.b/c\n":                    "a.b/c",
		"// x\nmodule \"a/b\" // c\ngo 1\n": "a/b",
		"modules x\n":                       "",
		"go 1.26\n":                         "",
	} {
		assert.Equal(t, want, modulePath([]byte(in)), "%q", in)
	}
}
