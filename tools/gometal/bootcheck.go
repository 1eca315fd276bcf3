package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
)

// q35MaxCPUs is the most CPUs QEMU's q35 machine takes (QEMU 7.2:
// "The max CPUs supported by machine 'pc-q35-7.2' is 288"); the kernel's
// limit, abi.MaxCPUs, is the smaller one.
const q35MaxCPUs = 288

// maxSMP is the largest --smp the CLI accepts.
const maxSMP = min(abi.MaxCPUs, q35MaxCPUs)

// inspectImage reads the boot-relevant parts of the image at path, whose
// contents are b, and refuses, saying what the file is instead, anything
// that is not a bootable gometal image.
func inspectImage(path string, b []byte) (image.Info, error) {
	info, err := image.Inspect(b)
	if err != nil {
		what := describeFile(b)
		if strings.HasPrefix(what, "a statically linked") || strings.HasPrefix(what, "a damaged") {
			return info, fmt.Errorf("%s is %s: %w", path, what, err)
		}
		return info, fmt.Errorf("%s is %s, not a gometal image; build one from a Go program with \"gometal build\"", path, what)
	}
	return info, nil
}

// refuseUnbootable is inspectImage's verdict for an image that parsed:
// nil if it boots through at least one protocol.
func refuseUnbootable(path string, b []byte, info image.Info) error {
	if info.Bootable() {
		return nil
	}
	return fmt.Errorf("%s (%s) is not a patched gometal image (build it with \"gometal build\"; \"gometal info %s\" says why)",
		path, describeFile(b), path)
}

// imageEnd returns the physical address where the image's loaded segments
// end, bss included: the kernel has no RAM of its own below it.
func imageEnd(info image.Info) uint64 {
	var end uint64
	for _, s := range info.Loads {
		end = max(end, s.Paddr+s.Memsz)
	}
	return end
}

// checkBootFlags checks b against the image (info) before QEMU starts,
// so that a wrong value is a usage error rather than a hang, a stack
// trace or a silent default.
func checkBootFlags(b bootFlags, info image.Info) error {
	if b.smp < 0 || b.smp > maxSMP {
		return usagef("--smp %d: want 1 to %d (the kernel brings up at most %d CPUs; QEMU's q35 allows %d)",
			b.smp, maxSMP, abi.MaxCPUs, q35MaxCPUs)
	}
	if b.timeout < 0 {
		return usagef("--timeout %v is negative (--timeout 0 means no time limit)", b.timeout)
	}
	mem := b.mem
	if mem == "" {
		mem = qemu.DefaultMem
	}
	size, ok, err := parseMemSize(mem)
	if err != nil {
		return usagef("--mem %q: %v", mem, err)
	}
	if !ok {
		return nil // QEMU's key=value form: QEMU checks it
	}
	var extra uint64
	if b.initrd != "" {
		if st, err := os.Stat(b.initrd); err == nil {
			extra = uint64(st.Size())
		}
	}
	cpus := max(b.smp, 1)
	if need := abi.MinMemory(imageEnd(info), extra, cpus); size < need {
		return usagef("--mem %s is too little: this image needs at least %dM on %d CPU%s (%s; \"gometal info IMAGE\" explains)",
			mem, need>>20, cpus, plural(cpus), memoryParts(info, extra, cpus))
	}
	return nil
}

// memoryParts lists what makes up the image's minimum memory.
func memoryParts(info image.Info, extra uint64, cpus int) string {
	end := imageEnd(info)
	s := fmt.Sprintf("first MiB and image %s, kernel %s, Go runtime %s",
		mib(1<<20+end-min(end, abi.ImageBase)), mib(abi.KernelMemory+uint64(max(cpus, 1)-1)*abi.KernelMemoryPerCPU), mib(abi.ProgramMemory(cpus)))
	if extra > 0 {
		s += ", initrd " + mib(extra)
	}
	return s
}

// mib formats n bytes in MiB with one decimal.
func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// plural returns "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// parseMemSize parses a QEMU -m size: a number, possibly with a fraction,
// and an optional unit B, K, M, G or T (either case; none means MiB).
// ok is false, with no error, for QEMU's key=value form
// ("size=2G,slots=2"), which it leaves to QEMU.
func parseMemSize(s string) (size uint64, ok bool, err error) {
	if strings.Contains(s, "=") {
		return 0, false, nil
	}
	num := strings.TrimRight(s, "bBkKmMgGtT")
	unit := s[len(num):]
	shift := map[string]uint{"": 20, "b": 0, "k": 10, "m": 20, "g": 30, "t": 40}[strings.ToLower(unit)]
	if len(unit) > 1 || num == "" {
		return 0, false, fmt.Errorf("want a size such as 256M or 2G")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || strings.ContainsAny(num, "eEnNxX+-") {
		return 0, false, fmt.Errorf("want a positive size such as 256M or 2G")
	}
	n := v * float64(uint64(1)<<shift)
	if n >= 1<<50 {
		return 0, false, fmt.Errorf("more memory than QEMU can give")
	}
	return uint64(n), true, nil
}
