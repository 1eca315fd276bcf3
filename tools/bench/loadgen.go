package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/bench/stats"
)

// Load says how the host drives a guest's HTTP server: Conns keep-alive
// HTTP/1.1 connections, opened one after another, each sending GET Path
// and waiting for the answer before the next request, for Warmup
// (discarded) and then Duration (measured); then Bulk GETs of BulkBytes
// bytes (/bytes?n=) on one connection. Zero fields mean DefaultLoad's;
// a negative Warmup or Bulk means none.
type Load struct {
	Conns     int
	Path      string
	Warmup    time.Duration
	Duration  time.Duration
	BulkBytes int
	Bulk      int
	// Ready bounds the wait for the server's first answer.
	Ready time.Duration
	// RequestTimeout bounds every request.
	RequestTimeout time.Duration
}

// DefaultLoad is what `make bench` runs: 8 connections, 1 s of warm-up,
// 5 s measured, then four 4 MiB bodies.
func DefaultLoad() Load {
	return Load{Conns: 8, Path: "/", Warmup: time.Second, Duration: 5 * time.Second,
		BulkBytes: 4 << 20, Bulk: 4, Ready: 90 * time.Second, RequestTimeout: 10 * time.Second}
}

// withDefaults fills in l's zero fields from DefaultLoad.
func (l Load) withDefaults() Load {
	d := DefaultLoad()
	if l.Conns <= 0 {
		l.Conns = d.Conns
	}
	if l.Path == "" {
		l.Path = d.Path
	}
	if l.Duration <= 0 {
		l.Duration = d.Duration
	}
	if l.Warmup == 0 {
		l.Warmup = d.Warmup
	}
	if l.BulkBytes <= 0 {
		l.BulkBytes = d.BulkBytes
	}
	if l.Bulk == 0 {
		l.Bulk = d.Bulk
	}
	if l.Ready <= 0 {
		l.Ready = d.Ready
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = d.RequestTimeout
	}
	return l
}

// LoadResult is what one run of the load generator measured.
type LoadResult struct {
	// Latencies are the measured requests' times from writing the request
	// to reading the end of the response.
	Latencies []time.Duration
	// Elapsed is the measured phase: from its start to the end of the
	// last response of a request started in it.
	Elapsed time.Duration
	// BulkBytes is what the bulk GETs received, in BulkTime.
	BulkBytes int64
	BulkTime  time.Duration
	// ReadyAfter is how long the server took to answer its first request.
	ReadyAfter time.Duration
}

// Metric keys of the network rows.
const (
	KeyHTTPRPS  = "net.http.rps"
	KeyHTTPP50  = "net.http.p50"
	KeyHTTPP99  = "net.http.p99"
	KeyHTTPMean = "net.http.mean"
	KeyHTTPBulk = "net.http.bulk"
)

// Metrics turns r into the network rows: requests per second, latency
// percentiles and mean in microseconds and bulk throughput in MiB/s. A
// quantity that r does not have (no requests, no bulk transfer) is left
// out. The mean is there beside the percentiles because the connections
// are closed loops: a server that serves some of them ahead of the
// others has those contribute more (and faster) requests to the pooled
// percentiles, so its p50 drops while the others wait, and the mean
// (the connections over the requests per second, Little's law) does not.
func (r LoadResult) Metrics() map[string]float64 {
	m := map[string]float64{}
	if len(r.Latencies) > 0 && r.Elapsed > 0 {
		us := make([]float64, len(r.Latencies))
		for i, d := range r.Latencies {
			us[i] = float64(d) / float64(time.Microsecond)
		}
		m[KeyHTTPRPS] = float64(len(r.Latencies)) / r.Elapsed.Seconds()
		m[KeyHTTPP50] = stats.Percentile(us, 50)
		m[KeyHTTPP99] = stats.Percentile(us, 99)
		var sum float64
		for _, v := range us {
			sum += v
		}
		m[KeyHTTPMean] = sum / float64(len(us))
	}
	if r.BulkBytes > 0 && r.BulkTime > 0 {
		m[KeyHTTPBulk] = float64(r.BulkBytes) / (1 << 20) / r.BulkTime.Seconds()
	}
	return m
}

// errGuestGone is returned when the guest ends while the load generator
// waits for it.
var errGuestGone = errors.New("the guest exited")

// WaitReady polls addr with GET / until the server answers 200, every
// 100 ms with a short connect timeout, for at most limit; it gives up at
// once when gone is closed (the guest ended). It returns how long the
// wait took.
func WaitReady(ctx context.Context, addr string, limit time.Duration, gone <-chan struct{}) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(limit)
	var last error
	for {
		c, err := dialHTTP(ctx, addr, 500*time.Millisecond, false)
		if err == nil {
			_, err = c.get("/", 2*time.Second)
			c.Close()
			if err == nil {
				return time.Since(start), nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-gone:
			return 0, fmt.Errorf("%w before its server answered (last try: %v)", errGuestGone, last)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the server did not answer within %v (last try: %v)", limit, last)
		}
	}
}

// Drive runs the load of l against the HTTP server at addr (host:port),
// which must already answer (WaitReady). Any failed request fails the run.
func Drive(ctx context.Context, addr string, l Load) (LoadResult, error) {
	l = l.withDefaults()
	var r LoadResult
	// QEMU's user network listens on a forwarded port with a backlog of
	// one: connections opened at once stall in the host's SYN back-off, so
	// they are opened one after another, each with a first request.
	conns := make([]*httpConn, l.Conns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		c, err := dialHTTP(ctx, addr, 5*time.Second, true)
		if err != nil {
			return r, fmt.Errorf("opening connection %d: %w", i+1, err)
		}
		conns[i] = c
		if _, err := c.get(l.Path, l.RequestTimeout); err != nil {
			return r, fmt.Errorf("connection %d: first request: %w", i+1, err)
		}
	}
	start := time.Now()
	measure := start.Add(max(l.Warmup, 0))
	end := measure.Add(l.Duration)
	lat := make([][]time.Duration, len(conns))
	last := make([]time.Time, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				if _, err := c.get(l.Path, l.RequestTimeout); err != nil {
					errs[i] = fmt.Errorf("connection %d: %w", i+1, err)
					return
				}
				if t1 := time.Now(); !t0.Before(measure) {
					lat[i] = append(lat[i], t1.Sub(t0))
					last[i] = t1
				}
			}
			errs[i] = ctx.Err()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	var done time.Time
	for i := range conns {
		r.Latencies = append(r.Latencies, lat[i]...)
		if last[i].After(done) {
			done = last[i]
		}
	}
	if len(r.Latencies) == 0 {
		return r, fmt.Errorf("no request completed in the %v measured", l.Duration)
	}
	r.Elapsed = done.Sub(measure)
	path := "/bytes?n=" + strconv.Itoa(l.BulkBytes)
	t0 := time.Now()
	for range l.Bulk {
		n, err := conns[0].get(path, l.RequestTimeout+time.Duration(l.BulkBytes/(64<<10))*time.Second)
		if err != nil {
			return r, fmt.Errorf("bulk GET %s: %w", path, err)
		}
		if n != int64(l.BulkBytes) {
			return r, fmt.Errorf("bulk GET %s: got %d bytes", path, n)
		}
		r.BulkBytes += n
	}
	r.BulkTime = time.Since(t0)
	return r, nil
}

// Quit asks the server to shut down (GET /quit?token=TOKEN) on a fresh
// connection.
func Quit(ctx context.Context, addr, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/quit?token="+url.QueryEscape(token), nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /quit: %s", resp.Status)
	}
	return nil
}

// httpConn is one keep-alive HTTP/1.1 client connection.
type httpConn struct {
	net.Conn
	br   *bufio.Reader
	host string
}

// dialHTTP connects to addr; with retry through qemu.DialForwarded, which
// tries a connect the host resets or refuses again (WaitReady does not
// retry: refusals are its signal that the guest is still booting).
func dialHTTP(ctx context.Context, addr string, timeout time.Duration, retry bool) (*httpConn, error) {
	d := &net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if retry {
		c, err = qemu.DialForwarded(ctx, d, "tcp", addr)
	} else {
		c, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &httpConn{Conn: c, br: bufio.NewReaderSize(c, 64<<10), host: addr}, nil
}

// get sends GET path and reads the whole response; it returns the body's
// length. A status other than 200, or a response that closes the
// connection, is an error.
func (c *httpConn) get(path string, timeout time.Duration) (int64, error) {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+c.host+"\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return n, err
	case resp.StatusCode != http.StatusOK:
		return n, fmt.Errorf("GET %s: %s", path, resp.Status)
	case resp.Close:
		return n, fmt.Errorf("GET %s: the server closed the connection", path)
	}
	return n, nil
}

// quitToken returns a random token for the server's /quit.
func quitToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
