package abi

// NSig is the number of signals (Linux's _NSIG on amd64): signals are
// numbered 1 to NSig, and a signal set is one uint64.
const NSig = 64
