package kpanic

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExceptionName checks the report's names of the CPU exceptions
// against their vectors (Intel SDM vol. 3, table 6-1).
func TestExceptionName(t *testing.T) {
	for v, want := range map[uint64]string{0: "#DE divide error", 2: "NMI", 6: "#UD invalid opcode", 8: "#DF double fault",
		13: "#GP general protection", 14: "#PF page fault", 15: "reserved", 18: "#MC machine check", 19: "#XM SIMD error",
		21: "#CP control protection", 22: "", 27: "", 28: "#HV", 29: "#VC", 30: "#SX", 31: "", 32: ""} {
		assert.Equal(t, want, ExceptionName(v), "vector %d", v)
	}
}
