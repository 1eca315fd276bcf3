package kernel

import "unsafe"

// unsafeOffsetSigRSP is where a signal frame holds the interrupted stack
// pointer (uc_mcontext.rsp), from the frame's start (noteSIGURG).
const unsafeOffsetSigRSP = unsafe.Offsetof(sigframe{}.uc) + unsafe.Offsetof(ucontext{}.mctx) + unsafe.Offsetof(sigcontext{}.rsp)
