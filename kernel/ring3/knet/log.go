package knet

import "github.com/gometal/gometal/kernel/ring3/kgo"

// The network's boot log: "[gometal] ..." lines on stderr, like the other
// kernel goroutines (docs/protocols.md), silenced by the quiet option.

// logf writes one kernel log line unless the kernel runs quiet. Context:
// ring-3 kernel goroutine.
func logf(format string, args ...any) { kgo.Logf(format, args...) }

// onGometal reports whether the program runs on the gometal kernel.
func onGometal() bool { return kgo.OnGometal() }
