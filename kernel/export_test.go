package kernel

import (
	"encoding/base64"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBase64Encode checks the kernel's encoder against encoding/base64 for
// every length up to two export lines and random contents.
func TestBase64Encode(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 0; n <= 2*exportChunk; n++ {
		src := make([]byte, n)
		r.Read(src)
		dst := make([]byte, (n+2)/3*4)
		k := base64Encode(dst, src)
		assert.Equal(t, base64.StdEncoding.EncodeToString(src), string(dst[:k]), "length %d", n)
	}
}
