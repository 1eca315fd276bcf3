package qemu_test

// Bad system-call arguments must get the errno Linux gives (the host run
// of examples/badcalls is the reference), and the program must go on.
func init() {
	bootCases["badcalls"] = bootCase{}
	// Console input through the runtime's netpoller: the UART interrupt
	// makes fd 0 readable and wakes the thread in epoll_pwait.
	bootCases["pollstdin"] = bootCase{smp: 2, stdin: "hello\nworld\nquit\n"}
}
