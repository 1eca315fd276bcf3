package bench

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadResultMetrics(t *testing.T) {
	var r LoadResult
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	r.Elapsed = 4 * time.Second
	r.BulkBytes, r.BulkTime = 8<<20, 2*time.Second
	m := r.Metrics()
	assert.InDelta(t, 25.0, m[KeyHTTPRPS], 1e-9, "100 requests in 4 s")
	assert.InDelta(t, 50_500.0, m[KeyHTTPP50], 1e-6, "the median of 1..100 ms, in us")
	assert.InDelta(t, 99_010.0, m[KeyHTTPP99], 1e-6, "p99 interpolates between 99 and 100 ms")
	assert.InDelta(t, 50_500.0, m[KeyHTTPMean], 1e-6, "the mean of 1..100 ms, in us")
	assert.InDelta(t, 4.0, m[KeyHTTPBulk], 1e-9, "8 MiB in 2 s")

	skewed := LoadResult{Latencies: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, 97 * time.Millisecond}, Elapsed: time.Second}
	assert.InDelta(t, 25_000.0, skewed.Metrics()[KeyHTTPMean], 1e-6, "three fast requests and a slow one: the mean is not the median")
	assert.InDelta(t, 1_000.0, skewed.Metrics()[KeyHTTPP50], 1e-6)
	assert.Empty(t, LoadResult{}.Metrics(), "nothing measured, no values (never zeros)")
	assert.NotContains(t, LoadResult{Latencies: r.Latencies, Elapsed: time.Second}.Metrics(), KeyHTTPBulk)
}

func TestLoadDefaults(t *testing.T) {
	l := Load{}.withDefaults()
	assert.Equal(t, DefaultLoad(), l)
	l = Load{Conns: 2, Warmup: -1, Bulk: -1}.withDefaults()
	assert.Equal(t, 2, l.Conns)
	assert.Equal(t, time.Duration(-1), l.Warmup, "negative: no warm-up")
	assert.Equal(t, -1, l.Bulk, "negative: no bulk transfer")
	assert.Equal(t, "4 MiB", sizeName(4<<20))
	assert.Equal(t, "64 KiB", sizeName(64<<10))
	assert.Equal(t, "1000 bytes", sizeName(1000))
}

// testServer is a host stand-in for examples/httpd: GET /, GET /bytes?n=N.
func testServer(t *testing.T, requests *atomic.Int64) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprintln(w, "hello")
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Write(make([]byte, n))
	})
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "s3cret" {
			http.Error(w, "wrong or missing token", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, "bye")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDrive(t *testing.T) {
	var requests atomic.Int64
	srv := testServer(t, &requests)
	addr := strings.TrimPrefix(srv.URL, "http://")
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	_, err := WaitReady(t.Context(), addr, 5*time.Second, nil)
	require.NoError(t, err)
	conns.Store(0)
	r, err := Drive(t.Context(), addr, Load{Conns: 3, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond,
		BulkBytes: 1 << 20, Bulk: 2})
	require.NoError(t, err)
	assert.Equal(t, int32(3), conns.Load(), "three keep-alive connections, reused for every request")
	assert.NotEmpty(t, r.Latencies)
	assert.Greater(t, requests.Load(), int64(len(r.Latencies)), "the warm-up's and the first requests are not measured")
	assert.GreaterOrEqual(t, r.Elapsed, 200*time.Millisecond-10*time.Millisecond)
	assert.Less(t, r.Elapsed, 2*time.Second)
	assert.Equal(t, int64(2<<20), r.BulkBytes)
	m := r.Metrics()
	for _, k := range []string{KeyHTTPRPS, KeyHTTPP50, KeyHTTPP99, KeyHTTPMean, KeyHTTPBulk} {
		assert.Positive(t, m[k], k)
	}
	assert.LessOrEqual(t, m[KeyHTTPP50], m[KeyHTTPP99])
	assert.ErrorContains(t, Quit(t.Context(), addr, "wrong"), "403")
	assert.NoError(t, Quit(t.Context(), addr, "s3cret"))
}

func TestDriveFails(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusTeapot) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, err := Drive(t.Context(), strings.TrimPrefix(srv.URL, "http://"), Load{Conns: 1, Duration: 50 * time.Millisecond})
	assert.ErrorContains(t, err, "418")
}

func TestWaitReady(t *testing.T) {
	// A port where nothing listens yet: the server comes up later.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	var requests atomic.Int64
	go func() {
		time.Sleep(300 * time.Millisecond)
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: testServer(t, &requests).Config.Handler}
		t.Cleanup(func() { srv.Close() })
		srv.Serve(l)
	}()
	after, err := WaitReady(t.Context(), addr, 10*time.Second, nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after, 300*time.Millisecond)

	// A guest that ends stops the wait at once.
	l, err = net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	l.Close()
	gone := make(chan struct{})
	close(gone)
	_, err = WaitReady(t.Context(), dead, 10*time.Second, gone)
	assert.ErrorIs(t, err, errGuestGone)

	// And the wait is bounded.
	start := time.Now()
	_, err = WaitReady(t.Context(), dead, 300*time.Millisecond, nil)
	assert.ErrorContains(t, err, "did not answer within 300ms")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestParseServed(t *testing.T) {
	out := []byte("netinit: 8 modules loaded in 40ms, eth0 10.0.2.15/24 up after 60ms\nhttpd: listening on [::]:80\nhttpd: served 1234 requests, shut down cleanly\n")
	n, ok := parseServed(out)
	assert.True(t, ok)
	assert.Equal(t, 1234, n)
	_, ok = parseServed([]byte("httpd: listening on [::]:80\n"))
	assert.False(t, ok)
	assert.Equal(t, ": httpd: served 1234 requests, shut down cleanly", lastLine(out))
	assert.Equal(t, "", lastLine(nil))
}

func TestNetStepWithoutServer(t *testing.T) {
	vals, na, err := netStep(t.Context(), Config{}.withDefaults(), Side{Name: "linux", HTTPNA: "no virtio-net modules for Linux: x"}, NetStep(1))
	require.NoError(t, err)
	assert.Nil(t, vals)
	assert.Equal(t, "no virtio-net modules for Linux: x", na)
}
