package socket

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestRecvmsgNullHeader: recvmsg with a NULL header is EFAULT on an
// Internet socket, as on Linux; recvfrom with no buffer on the same
// socket is a receive of 0 bytes, which answers 0 at once (the answer a
// recvmsg read as a recvfrom gave).
func TestRecvmsgNullHeader(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd, _ := openSocket(t)
	assert.Equal(t, -abi.EFAULT, SysRecvmsg(nil, 0, abi.SysArgs{uintptr(fd), 0, unix.MSG_DONTWAIT}))
	assert.Equal(t, int64(0), SysRecvfrom(nil, 0, abi.SysArgs{uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0}))
}
