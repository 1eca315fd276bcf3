package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBisect(t *testing.T) {
	for _, threshold := range []int{1, 2, 45, 87, 255, 256} {
		var asked []int
		got := Bisect(0, 256, func(n int) bool {
			asked = append(asked, n)
			return n >= threshold
		})
		assert.Equal(t, threshold, got)
		assert.LessOrEqual(t, len(asked), 8, "log2(256) probes")
		assert.NotContains(t, asked, 0)
		assert.NotContains(t, asked, 256)
	}
	assert.Equal(t, 5, Bisect(4, 5, func(int) bool { panic("no probe needed") }))
}

func TestMebibytes(t *testing.T) {
	for in, want := range map[string]int{"256M": 256, "2G": 2048, "64": 64} {
		got, err := mebibytes(in)
		assert.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "M", "-1M", "1.5G", "12K", "0"} {
		_, err := mebibytes(in)
		assert.Error(t, err, in)
	}
}
