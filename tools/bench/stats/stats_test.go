package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3} // sorted: 1 2 3 4 5
	tests := []struct {
		p, want float64
	}{
		{0, 1}, {100, 5}, {50, 3}, {25, 2}, {75, 4},
		{10, 1.4}, {99, 4.96}, {-5, 1}, {150, 5},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, Percentile(xs, tt.p), 1e-9, "p%v", tt.p)
	}
	assert.Equal(t, []float64{5, 1, 4, 2, 3}, xs, "input must not be sorted in place")
	assert.True(t, math.IsNaN(Percentile(nil, 50)))
	assert.True(t, math.IsNaN(Percentile(xs, math.NaN())))
	assert.Equal(t, 7.0, Percentile([]float64{7}, 99))
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	assert.True(t, math.IsNaN(Median(nil)))
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{10, 12, 9, 11})
	assert.Equal(t, Summary{N: 4, Median: 10.5, Min: 9, Max: 12}, s)
	assert.InDelta(t, 3/10.5, s.Spread(), 1e-12)

	one := Summarize([]float64{4})
	assert.Equal(t, 0.0, one.Spread())

	empty := Summarize(nil)
	assert.Equal(t, 0, empty.N)
	assert.True(t, math.IsNaN(empty.Median))
	assert.True(t, math.IsNaN(empty.Spread()))

	zero := Summarize([]float64{0, 0})
	assert.True(t, math.IsNaN(zero.Spread()))

	neg := Summarize([]float64{-2, -4})
	assert.InDelta(t, 2.0/3, neg.Spread(), 1e-12)
}
