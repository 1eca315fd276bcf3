package qemu_test

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/symbolize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxKernelRetranslations bounds how many times QEMU's TCG translates a
// block of kernel code it has translated before, in one boot of
// examples/hello. TCG keys its translations by the CPU state the code
// runs in (among others SS's B bit and RFLAGS.IOPL), so a kernel that
// ran its code in two such states paid for many blocks twice: 848
// retranslations when interrupts from ring 3 left SS null while system
// calls loaded it with B set and system calls and the boot ran with IOPL
// 0 (684 with the IOPL changes alone), about 9% of the boot's
// translations, each about 8 us on the development host
// (docs/performance.md, "Boot time: what the translator sees"). Since
// then 2 remain.
const maxKernelRetranslations = 60

// TestKernelTranslatedOnce boots hello with QEMU's in_asm log, which
// prints every translation block as TCG translates it, and counts the
// blocks of kernel code translated more than once.
func TestKernelTranslatedOnce(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	b := s.image(t, "hello", "", "hello", nil, nil)
	require.NoError(t, b.err, "image build")
	im, err := symbolize.OpenImage(b.path) // its debug file beside it
	require.NoError(t, err)
	logPath := filepath.Join(t.TempDir(), "in_asm.log")
	res, err := qemu.Run(t.Context(), qemu.Options{Image: b.path, Timeout: bootTimeout, NoStallReport: true,
		Extra: []string{"-d", "in_asm", "-D", logPath}})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "kernel log:\n%s", res.KernelLog)
	counts := translatedBlocks(t, logPath)
	require.NotEmpty(t, counts, "no translation blocks in QEMU's in_asm log")
	extra := map[string]int{}
	total, kernelExtra := 0, 0
	for pc, n := range counts {
		total += n
		if fr, ok := im.Lookup(pc); ok && n > 1 && strings.HasPrefix(fr.Func, "github.com/gometal/gometal/") {
			extra[fr.Func] += n - 1
			kernelExtra += n - 1
		}
	}
	t.Logf("%d translation blocks, %d distinct; kernel blocks translated again: %d", total, len(counts), kernelExtra)
	if kernelExtra > maxKernelRetranslations {
		names := make([]string, 0, len(extra))
		for n := range extra {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return extra[names[i]] > extra[names[j]] })
		for _, n := range names[:min(len(names), 15)] {
			t.Logf("  %s: %d", n, extra[n])
		}
	}
	assert.LessOrEqual(t, kernelExtra, maxKernelRetranslations, "kernel code translated more than once")
}

// translatedBlocks reads QEMU's in_asm log: each block starts with a line
// "IN:" (with the symbol, if any), then its first instruction's
// "0xADDRESS:  bytes  mnemonic". It returns how often each address began
// a block.
func translatedBlocks(t *testing.T, path string) map[uint64]int {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	counts := map[uint64]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inBlock := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "IN:") {
			inBlock = true
			continue
		}
		if !inBlock || !strings.HasPrefix(line, "0x") {
			continue
		}
		inBlock = false
		addr, _, ok := strings.Cut(line, ":")
		require.True(t, ok, "in_asm line %q", line)
		pc, err := strconv.ParseUint(strings.TrimPrefix(addr, "0x"), 16, 64)
		require.NoError(t, err, "in_asm line %q", line)
		counts[pc]++
	}
	require.NoError(t, sc.Err())
	return counts
}
