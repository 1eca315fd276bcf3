package qemu_test

// Bad system-call arguments must get the errno Linux gives (the host run
// of examples/badcalls is the reference), and the program must go on.
func init() {
	bootCases["badcalls"] = bootCase{}
}
