package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/qemu"
)

// ServerPkg is the HTTP server of the network rows, the same program on
// both sides, relative to the module root.
const ServerPkg = "./examples/httpd"

// NetinitPkg is the Linux side's /init for the network rows: it loads the
// virtio-net modules, configures eth0 and runs the server.
const NetinitPkg = "./bench/netinit"

// GuestPort is the server's port in the guest; a free host port is
// forwarded to it.
const GuestPort = 80

// netStep runs one network step on side: it boots side's HTTP server with
// a free host port forwarded to it, waits until the server answers, drives
// it with cfg.Load, asks it to quit and waits for the guest to end (killing
// QEMU if it does not). It returns the rows' values, or why there are
// none. Only the cancellation of ctx is an error.
func netStep(ctx context.Context, cfg Config, side Side, st Step) (map[string]float64, string, error) {
	if side.HTTP == nil {
		return nil, side.HTTPNA, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, "no free host port: " + err.Error(), nil
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// A random /quit token: a stray client of another run that lands on a
	// recycled host port cannot shut this server down.
	token := quitToken()
	args := append(append([]string(nil), st.Flags...), "-quit-token", token)
	b := Boot{SMP: st.SMP, Mem: st.Mem, Env: st.Env, Args: args, Timeout: cfg.Timeout,
		Net: fmt.Sprintf("user,hostfwd=tcp:%s-:%d", addr, GuestPort)}
	if b.Mem == "" {
		b.Mem = cfg.Mem
	}
	opts := side.HTTP.Options(b)
	opts.Console = cfg.Console
	gctx, kill := context.WithCancel(ctx)
	defer kill()
	done := make(chan struct{})
	var res *qemu.Result
	var qerr error
	go func() {
		defer close(done)
		res, qerr = qemu.Run(gctx, opts)
	}()
	guestFailure := func() string {
		switch {
		case errors.Is(qerr, qemu.ErrTimeout):
			return fmt.Sprintf("timed out after %v", cfg.Timeout)
		case qerr != nil:
			msg, _, _ := strings.Cut(qerr.Error(), "\n")
			return "guest failed: " + strings.TrimSuffix(msg, ":")
		case res != nil && res.ExitCode != 0:
			return fmt.Sprintf("guest failed: server exited with status %d%s", res.ExitCode, lastLine(res.Output))
		}
		return "the guest exited"
	}

	load := cfg.Load.withDefaults()
	var lr LoadResult
	ready, err := WaitReady(ctx, addr, min(load.Ready, cfg.Timeout), done)
	if err == nil {
		fmt.Fprintf(cfg.Log, "bench: %s: the server answered %v after QEMU started\n", side.Name, ready.Round(time.Millisecond))
		lr, err = Drive(ctx, addr, load)
		lr.ReadyAfter = ready
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	early := false // the guest ended before the load generator was done
	select {
	case <-done:
		early = true
	default:
		if qerr := Quit(ctx, addr, token); qerr != nil {
			fmt.Fprintf(cfg.Log, "bench: %s: GET /quit: %v\n", side.Name, qerr)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			fmt.Fprintf(cfg.Log, "bench: %s: the server did not exit within 30s of /quit; killing QEMU\n", side.Name)
			kill()
			<-done
		}
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	if errors.Is(err, errGuestGone) {
		return nil, guestFailure(), nil
	}
	if err != nil && early {
		return nil, fmt.Sprintf("%s (HTTP load: %v)", guestFailure(), err), nil
	}
	if err != nil {
		return nil, "HTTP load failed: " + err.Error(), nil
	}
	if qerr != nil || res == nil || res.ExitCode != 0 {
		// The numbers were measured; the shutdown is only reported.
		fmt.Fprintf(cfg.Log, "bench: %s: unclean end after the measurement: %s\n", side.Name, guestFailure())
	}
	if res != nil {
		if n, ok := parseServed(res.Output); ok && n < len(lr.Latencies) {
			return nil, fmt.Sprintf("the server counted %d requests, fewer than the %d measured", n, len(lr.Latencies)), nil
		}
	}
	return lr.Metrics(), "", nil
}

// served is examples/httpd's last line.
var served = regexp.MustCompile(`httpd: served ([0-9]+) requests`)

// parseServed returns how many requests the server says it served.
func parseServed(out []byte) (int, bool) {
	m := served.FindSubmatch(out)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(m[1]))
	return n, err == nil
}

// lastLine returns ": " and the last non-empty line of out, or "".
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return ": " + l
	}
	return ""
}

// freePort returns a host TCP port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
