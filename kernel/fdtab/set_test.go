package fdtab

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSet: Add, Remove, Has, Next and Take agree with a plain map over
// random operations, at both ends of the range and across words; Take
// hands the numbers out in increasing order and -1 once empty.
func TestSet(t *testing.T) {
	var s Set
	want := map[int]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 5000 {
		i := r.IntN(MaxFDs)
		switch step % 9 {
		case 0, 1, 2, 3:
			s.Add(i)
			want[i] = true
		case 4, 5:
			s.Remove(i)
			delete(want, i)
		case 6:
			var next int = -1
			for k := i; k < MaxFDs; k++ {
				if want[k] {
					next = k
					break
				}
			}
			assert.Equal(t, next, s.Next(i), "step %d: next from %d", step, i)
		default:
			assert.Equal(t, want[i], s.Has(i), "step %d: has %d", step, i)
		}
		assert.Equal(t, len(want) == 0, s.Empty(), "step %d", step)
	}
	s.Add(0)
	s.Add(MaxFDs - 1)
	want[0], want[MaxFDs-1] = true, true
	var keys, got []int
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i := s.Take(); i >= 0; i = s.Take() {
		got = append(got, i)
	}
	assert.Equal(t, keys, got)
	assert.True(t, s.Empty())
	assert.Equal(t, -1, s.Take())
	s.Add(64)
	s.Clear()
	assert.True(t, s.Empty())
}
