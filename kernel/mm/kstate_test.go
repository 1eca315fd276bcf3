package mm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stateTable returns a filled table of rs.
func stateTable(rs ...StateRange) *StateTable {
	t := &StateTable{Magic: StateMagic, N: uint64(len(rs))}
	copy(t.Ranges[:], rs)
	t.Check = StateCheck(rs)
	return t
}

func TestStateOverlapsEdges(t *testing.T) {
	tab := stateTable(StateRange{0x1000, 0x1010}, StateRange{0x2000, 0x2001}, StateRange{0x3000, 0x4000})
	for _, c := range []struct {
		start, end uint64
		want       bool
	}{
		{0x0ff0, 0x1000, false}, // ends right before the first range
		{0x0ff0, 0x1001, true},  // its last byte is the range's first
		{0x1000, 0x1001, true},
		{0x100f, 0x1010, true}, // the range's last byte
		{0x100f, 0x2000, true},
		{0x1010, 0x2000, false}, // the gap, exactly
		{0x1010, 0x2001, true},
		{0x2001, 0x3000, false},
		{0x2000, 0x2001, true}, // a one-byte range
		{0x1fff, 0x2000, false},
		{0x3fff, 0x4000, true},
		{0x4000, 0x5000, false}, // right after the last range
		{0x0, 0xffffffffffffffff, true},
		{0x3500, 0x3500, false}, // empty
		{0x3600, 0x3500, false}, // reversed
	} {
		assert.Equal(t, c.want, tab.Overlaps(c.start, c.end), "[%#x, %#x)", c.start, c.end)
	}
}

func TestStateFirstIn(t *testing.T) {
	tab := stateTable(StateRange{0x1000, 0x1010}, StateRange{0x2000, 0x2010})
	assert.Equal(t, uint64(0x1000), tab.FirstIn(0x800, 0x3000))
	assert.Equal(t, uint64(0x1008), tab.FirstIn(0x1008, 0x3000), "inside a range: the start itself")
	assert.Equal(t, uint64(0x2000), tab.FirstIn(0x1010, 0x3000))
	assert.Equal(t, uint64(0x1800), tab.FirstIn(0x1010, 0x1800), "none: end")
	assert.Equal(t, uint64(0x2010), tab.FirstIn(0x2010, 0x2010))
}

func TestStateEmptyTable(t *testing.T) {
	var zero StateTable
	assert.False(t, zero.Overlaps(0, 1<<63), "nothing is kernel state in an empty table")
	assert.Equal(t, "wrong magic: kernel and image build disagree", zero.Problem(0, 1<<40))
	unfilled := StateTable{Magic: StateMagic}
	assert.Equal(t, "the image build did not fill it", unfilled.Problem(0, 1<<40))
}

func TestStateFullTable(t *testing.T) {
	var rs []StateRange
	for i := range uint64(StateMax) {
		rs = append(rs, StateRange{0x10000 + 0x100*i, 0x10000 + 0x100*i + 0x10})
	}
	tab := stateTable(rs...)
	require.Equal(t, "", tab.Problem(0, 1<<40))
	for i, r := range rs {
		require.True(t, tab.Overlaps(r.End-1, r.End), "range %d", i)
		require.False(t, tab.Overlaps(r.End, r.End+0xf0), "gap after range %d", i)
	}
	tab.N = StateMax + 1 // as a corrupt table would say: searched as if full, never out of bounds
	assert.True(t, tab.Overlaps(rs[StateMax-1].Start, rs[StateMax-1].End))
	assert.False(t, tab.Overlaps(rs[StateMax-1].End, 1<<40))
	assert.Equal(t, "more ranges than it holds", tab.Problem(0, 1<<40))
}

func TestStateProblem(t *testing.T) {
	good := stateTable(StateRange{0x1000, 0x1010}, StateRange{0x2000, 0x2010})
	require.Equal(t, "", good.Problem(0x1000, 0x3000))
	assert.Equal(t, "a range is empty or outside the image's memory", good.Problem(0x1008, 0x3000))
	assert.Equal(t, "a range is empty or outside the image's memory", good.Problem(0x1000, 0x2008))

	bad := *good
	bad.Ranges[1].End = 0x2020 // not what the check word covers
	assert.Equal(t, "check word mismatch", bad.Problem(0, 1<<40))

	for name, rs := range map[string][]StateRange{
		"touching":  {{0x1000, 0x1010}, {0x1010, 0x1020}}, // the image build merges these
		"unsorted":  {{0x2000, 0x2010}, {0x1000, 0x1010}},
		"overlap":   {{0x1000, 0x1010}, {0x1008, 0x1020}},
		"empty":     {{0x1000, 0x1000}},
		"backwards": {{0x1010, 0x1000}},
	} {
		want := "ranges out of order or touching"
		if name == "empty" || name == "backwards" {
			want = "a range is empty or outside the image's memory"
		}
		assert.Equal(t, want, stateTable(rs...).Problem(0, 1<<40), name)
	}
}

func TestStateCheckSeesOrderAndCount(t *testing.T) {
	a := []StateRange{{1, 2}, {3, 4}}
	assert.NotEqual(t, StateCheck(a), StateCheck([]StateRange{{3, 4}, {1, 2}}))
	assert.NotEqual(t, StateCheck(a), StateCheck(a[:1]))
	assert.NotEqual(t, StateCheck(a), StateCheck([]StateRange{{1, 3}, {2, 4}}))
	assert.NotEqual(t, StateCheck(nil), StateCheck([]StateRange{{0, 0}}))
}
