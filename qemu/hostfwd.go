package qemu

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// DialForwarded connects to a guest port that Options.Net forwards from
// the host (hostfwd). A connect the host resets or refuses is tried again,
// up to 5 times 200 ms apart: QEMU's user network listens on the forwarded
// port with a backlog of one, and a loaded host may refuse a handshake
// before QEMU has taken the previous connection. Nothing has been sent
// then, so trying again is safe. (While a guest boots, refusals are
// expected: poll with a plain dialer instead.)
func DialForwarded(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	for try := 0; ; try++ {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil || try == 5 || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
