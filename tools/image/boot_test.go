package image

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPatchBootPVHOnly(t *testing.T) {
	for name, orig := range map[string][]byte{"synthetic": synthELF(), "linked": linkDirect(t, "")} {
		t.Run(name, func(t *testing.T) {
			img, err := PatchBootBytes(orig, BootPVH)
			require.NoError(t, err)
			info := mustInspect(t, img)
			assert.Nil(t, info.Multiboot, "a PVH-only image has no multiboot header")
			_, _, first := findMultiboot(img)
			assert.Equal(t, -1, first, "no multiboot magic at all")
			assert.True(t, info.BootsPVH())
			assert.Equal(t, BootPVH, info.Boot())

			again, err := PatchBootBytes(img, BootPVH)
			require.NoError(t, err)
			assert.Equal(t, img, again, "patching twice changes nothing")
		})
	}
}

func TestPatchBootRemovesMultiboot(t *testing.T) {
	both, err := PatchBytes(synthELF())
	require.NoError(t, err)
	pvh, err := PatchBootBytes(both, BootPVH)
	require.NoError(t, err)
	direct, err := PatchBootBytes(synthELF(), BootPVH)
	require.NoError(t, err)
	assert.Equal(t, direct, pvh, "dropping the header from a both-protocol image")
}

func TestPatchBootMultibootOnly(t *testing.T) {
	for name, orig := range map[string][]byte{"synthetic": synthELF(), "linked": linkDirect(t, "")} {
		t.Run(name, func(t *testing.T) {
			img, err := PatchBootBytes(orig, BootMultiboot)
			require.NoError(t, err)
			info := mustInspect(t, img)
			assert.Nil(t, info.PVH, "a multiboot-only image has no PVH note")
			require.NotNil(t, info.BuildID, "the build-id note stays")
			require.NotNil(t, info.Multiboot)
			h := info.Multiboot
			assert.False(t, h.Offset < info.BuildID.Offset+info.BuildID.Size && info.BuildID.Offset < h.Offset+multibootSize,
				"the header must not overwrite the build-id note")
			assert.Equal(t, BootMultiboot, info.Boot())
			assert.True(t, info.Bootable())

			both, err := PatchBytes(orig)
			require.NoError(t, err)
			assert.Equal(t, mustInspect(t, both).Multiboot.Offset, h.Offset, "same slot as a both-protocol image")
		})
	}
}

func TestPatchBootErrors(t *testing.T) {
	_, err := PatchBootBytes(synthELF(), "grub")
	assert.ErrorContains(t, err, `unknown boot protocol "grub"`)

	both, err := PatchBytes(synthELF())
	require.NoError(t, err)
	_, err = PatchBootBytes(both, BootMultiboot)
	assert.ErrorContains(t, err, "already carries a PVH note")

	_, err = build(t.Context(), BuildOptions{Pkg: "./hello", Out: "x", Boot: "uefi"}, stubTarget(t))
	assert.ErrorContains(t, err, "unknown boot protocol")
}

func TestInspectBoot(t *testing.T) {
	info := mustInspect(t, synthELF())
	assert.Equal(t, "", info.Boot())
	assert.False(t, info.Bootable())
	for _, boot := range BootProtocols {
		img, err := PatchBootBytes(synthELF(), boot)
		require.NoError(t, err)
		var b strings.Builder
		_, err = mustInspect(t, img).WriteTo(&b)
		require.NoError(t, err)
		assert.Contains(t, b.String(), "boot:        "+boot+"\n")
	}
}
