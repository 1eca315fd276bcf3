package trapcheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handImage is an image of hand-assembled functions laid out from 0x1000,
// each padded to 0x100 bytes.
func handImage(t *testing.T, funcs map[string][]byte, order ...string) *elfImage {
	t.Helper()
	img := &elfImage{byName: map[string]*function{}}
	text := make([]byte, 0x100*len(order))
	for i, name := range order {
		code := funcs[name]
		require.LessOrEqual(t, len(code), 0x100)
		start := uint64(0x1000 + 0x100*i)
		copy(text[0x100*i:], code)
		fn := &function{name: name, start: start, end: start + uint64(len(code))}
		img.funcs = append(img.funcs, fn)
		img.byName[name] = fn
	}
	img.sects = []section{{addr: 0x1000, data: text}}
	return img
}

func TestAnalyzeFrame(t *testing.T) {
	img := handImage(t, map[string][]byte{
		"f": {
			0x55,             // PUSHQ BP
			0x48, 0x89, 0xe5, // MOVQ SP, BP
			0x48, 0x83, 0xec, 0x20, // SUBQ $0x20, SP
			0xe8, 0xf3, 0x00, 0x00, 0x00, // CALL g (0x1100)
			0x48, 0x83, 0xc4, 0x20, // ADDQ $0x20, SP
			0x5d,             // POPQ BP
			0xc3,             // RET
			0xc5, 0xf8, 0x77, // VZEROUPPER (after the RET: frame resumes at 40)
			0xe9, 0xe5, 0x00, 0x00, 0x00, // JMP g: a tail call at depth 40
		},
		"g": {0xc3}, // RET
	}, "f", "g")
	info := img.analyze(img.byName["f"])
	assert.Empty(t, info.problems)
	assert.EqualValues(t, 40, info.frame)
	require.Len(t, info.calls, 2)
	assert.Equal(t, site{pc: 0x1008, sp: 40, target: img.byName["g"], inst: info.calls[0].inst}, info.calls[0])
	assert.True(t, info.calls[1].tail)
	assert.EqualValues(t, 40, info.calls[1].sp)
	assert.Equal(t, img.byName["g"], info.calls[1].target)
}

func TestAnalyzeNewStack(t *testing.T) {
	img := handImage(t, map[string][]byte{
		"entry": {
			0x6a, 0x00, // PUSHQ $0
			0x48, 0x89, 0xc4, // MOVQ AX, SP: a new stack
			0x6a, 0x00, // PUSHQ $0
			0x6a, 0x00, // PUSHQ $0
			0xff, 0xd0, // CALL AX: unresolved
		},
	}, "entry")
	info := img.analyze(img.byName["entry"])
	assert.EqualValues(t, 16, info.frame)
	require.Len(t, info.indirect, 1)
	assert.EqualValues(t, 16, info.indirect[0].sp)
}

func TestDecodeVZEROUPPER(t *testing.T) {
	in, err := decodeInst([]byte{0xc5, 0xf8, 0x77, 0xe9, 0, 0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, 3, in.Len)
}
