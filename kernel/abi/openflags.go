package abi

// OLargefile is the kernel's O_LARGEFILE (__O_LARGEFILE, 0x8000 on
// x86-64), which a 64-bit Linux adds to every open but O_PATH's and
// F_GETFL shows. golang.org/x/sys/unix's O_LARGEFILE is 0 on amd64,
// where a program never needs to pass it.
const OLargefile = 0x8000

// ValidOpenFlags are the open flags Linux knows (VALID_OPEN_FLAGS): an
// open ignores the other bits, and F_GETFL never shows them.
const ValidOpenFlags = 0x7fffc3

// OSync is the kernel's __O_SYNC bit of O_SYNC (0x101000, which
// includes O_DSYNC): an open that asks for it alone gets O_DSYNC too.
const OSync = 0x100000
