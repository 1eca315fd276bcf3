package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseDepends(t *testing.T) {
	out := "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n"
	assert.Equal(t, "linux-image-6.1.0-56-amd64", parseDepends([]byte(out)))

	out = "linux-image-amd64\n  Depends: <linux-image-6.12.9-cloud>\n |Depends: linux-image-6.12.9+deb13-amd64\n"
	assert.Equal(t, "", parseDepends([]byte(out)), "alternatives and virtual packages are not taken")

	out = "linux-image-amd64\n  Depends: initramfs-tools\n  Depends: linux-image-6.12.9+deb13-amd64\n"
	assert.Equal(t, "linux-image-6.12.9+deb13-amd64", parseDepends([]byte(out)))

	assert.Equal(t, "", parseDepends(nil))
	assert.Equal(t, "", parseDepends([]byte("  Depends: linux-image-6.1.0-56-cloud-amd64-dbg\n")))
}
