package boot

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/arch/x86/x86asm"
)

// decode disassembles code in the given mode into Intel-syntax lines.
func decode(t *testing.T, code []byte, mode int, pc uint64) []string {
	var out []string
	for len(code) > 0 {
		inst, err := x86asm.Decode(code, mode)
		require.NoError(t, err, "at %#x", pc)
		out = append(out, strings.ToLower(x86asm.IntelSyntax(inst, pc, nil)))
		code = code[inst.Len:]
		pc += uint64(inst.Len)
		if inst.Op == x86asm.LJMP || inst.Op == x86asm.JMP {
			break
		}
	}
	return out
}

func TestAPTrampolineDecodes(t *testing.T) {
	code := APTrampoline[:]
	real16 := decode(t, code[:apCode32], 16, APTrampolineAddr)
	assert.Equal(t, "cli", real16[0])
	assert.Contains(t, strings.Join(real16, "\n"), "lgdt")
	assert.Contains(t, real16[len(real16)-1], "jmp far 0x801e, 0x8", "far jump into the 32-bit part")

	prot32 := decode(t, code[apCode32:apCode64], 32, APTrampolineAddr+apCode32)
	joined := strings.Join(prot32, "\n")
	for _, want := range []string{"mov cr4, eax", "mov eax, dword ptr [0x8f00]", "mov cr3, eax", "wrmsr", "mov cr0, eax"} {
		assert.Contains(t, joined, want)
	}
	assert.Contains(t, prot32[len(prot32)-1], "jmp far 0x805e, 0x18", "far jump into the 64-bit part")

	long64 := decode(t, code[apCode64:], 64, APTrampolineAddr+apCode64)
	assert.Equal(t, []string{
		"mov rdi, qword ptr [0x8f18]",
		"mov rax, qword ptr [0x8f10]",
		"jmp rax",
	}, long64)

	assert.Less(t, len(APTrampoline), APParamCR3, "code must not overlap the parameter block")
}
