package qemu_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guestServer is examples/httpd booted with QEMU's user network and a host
// port forwarded to its port 80.
type guestServer struct {
	base   string // http://127.0.0.1:PORT
	token  string // for /quit
	done   chan struct{}
	result *qemu.Result
	err    error
}

// hostfwdTransport is an HTTP transport for a guest behind QEMU's
// hostfwd: it dials with qemu.DialForwarded.
func hostfwdTransport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return qemu.DialForwarded(ctx, d, network, addr)
	}}
}

// randomToken returns a random hex string.
func randomToken(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return fmt.Sprintf("%x", b)
}

// freePort returns a host TCP port that is free now.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lineWatcher signals when the console shows a line containing want.
type lineWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// bootHTTPD boots img at smp CPUs and waits until the server listens.
func bootHTTPD(t *testing.T, img string, smp int) *guestServer {
	port := freePort(t)
	g := &guestServer{base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{}), token: randomToken(t)}
	w := &lineWatcher{want: "httpd: listening", seen: make(chan struct{})}
	go func() {
		defer close(g.done)
		g.result, g.err = qemu.Run(context.Background(), qemu.Options{
			// The quit token keeps a stray client of another test that
			// lands on a recycled host port from shutting this guest down.
			Image: img, SMP: smp, Mem: "256M", Append: "slice=1ms -- -quit-token " + g.token,
			Net:     fmt.Sprintf("user,hostfwd=tcp:127.0.0.1:%d-:80", port),
			Timeout: 240 * time.Second, Console: w,
		})
	}()
	select {
	case <-w.seen:
	case <-g.done:
		t.Fatalf("httpd ended before listening: %v\n%s", g.err, g.result.Console)
	case <-time.After(60 * time.Second):
		t.Fatal("httpd did not start listening within 60s")
	}
	return g
}

// wait waits for the guest to exit.
func (g *guestServer) wait(t *testing.T) *qemu.Result {
	select {
	case <-g.done:
	case <-time.After(60 * time.Second):
		t.Fatal("httpd did not exit within 60s of /quit")
	}
	require.NoError(t, g.err, "%s", g.result.Console)
	return g.result
}

// TestHTTPServer boots the unmodified net/http server of examples/httpd at
// -smp 1 and 4 and drives it from the host through hostfwd: 1,000 GETs on
// one keep-alive connection, 64 concurrent connections, a 16 MiB response
// checked byte for byte, a POST echo, idle CPUs, and a clean shutdown.
func TestHTTPServer(t *testing.T) {
	img := filepath.Join(t.TempDir(), "httpd.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/httpd", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	for _, smp := range []int{1, 4} {
		t.Run(fmt.Sprintf("smp%d", smp), func(t *testing.T) {
			g := bootHTTPD(t, img, smp)
			client := &http.Client{Timeout: 60 * time.Second, Transport: hostfwdTransport()}

			t.Run("keepalive", func(t *testing.T) {
				var conns atomic.Int32
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
					if !i.Reused {
						conns.Add(1)
					}
				}}
				for i := range 1000 {
					req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", g.base+"/", nil)
					resp, err := client.Do(req)
					require.NoError(t, err, "GET %d", i)
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					require.NoError(t, err)
					require.Equal(t, 200, resp.StatusCode)
					require.True(t, strings.HasPrefix(string(body), "hello from gometal, request "), "%q", body)
				}
				assert.Equal(t, int32(1), conns.Load(), "all 1,000 GETs should share one keep-alive connection")
			})

			t.Run("concurrent64", func(t *testing.T) {
				// QEMU's user network listens on a hostfwd port with a
				// backlog of one, so 64 simultaneous connects from the host
				// stall in the host kernel's SYN retransmission back-off
				// before QEMU even passes them on. So the 64 connections
				// are opened one after the other (each with a first GET),
				// all kept open, and then all 64 send requests at once.
				const n = 64
				clients := make([]*http.Client, n)
				var fresh atomic.Int32
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
					if !i.Reused {
						fresh.Add(1)
					}
				}}
				get := func(c *http.Client, size int) error {
					req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", fmt.Sprintf("%s/bytes?n=%d", g.base, size), nil)
					resp, err := c.Do(req)
					if err != nil {
						return err
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || !patternOK(body, size) {
						return fmt.Errorf("GET /bytes?n=%d: bad body (%d bytes, %v)", size, len(body), err)
					}
					return nil
				}
				for c := range clients {
					tr := hostfwdTransport()
					tr.MaxConnsPerHost = 1
					t.Cleanup(tr.CloseIdleConnections)
					clients[c] = &http.Client{Transport: tr, Timeout: 120 * time.Second}
					require.NoError(t, get(clients[c], 100+c), "opening connection %d", c)
				}
				require.Equal(t, int32(n), fresh.Load(), "each client should have its own connection")
				open := 0
				for _, line := range strings.Split(string(httpGet(t, client, g.base+"/sockets")), "\n") {
					if strings.Contains(line, " connected ") {
						open++
					}
				}
				assert.GreaterOrEqual(t, open, n, "the guest should hold all %d connections open at once", n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make(chan error, n)
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						for k := range 3 {
							if err := get(clients[c], 1000+c*10+k); err != nil {
								errs <- fmt.Errorf("client %d request %d: %w", c, k, err)
								return
							}
						}
					}()
				}
				close(start)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				assert.Equal(t, int32(n), fresh.Load(), "the concurrent requests should reuse the 64 connections")
			})

			t.Run("16MiB", func(t *testing.T) {
				const n = 16 << 20
				resp, err := client.Get(fmt.Sprintf("%s/bytes?n=%d", g.base, n))
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				require.Len(t, body, n)
				require.True(t, patternOK(body, n), "the 16 MiB body differs from the pattern")
			})

			t.Run("echo", func(t *testing.T) {
				data := make([]byte, 1<<20)
				rand.Read(data)
				resp, err := client.Post(g.base+"/echo", "application/octet-stream", bytes.NewReader(data))
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				require.True(t, bytes.Equal(data, body), "echo returned %d bytes, want the 1 MiB sent", len(body))
			})

			t.Run("idle", func(t *testing.T) {
				// After the work, with the server blocked in accept and
				// epoll, every CPU halts: its idle time grows by nearly the
				// whole second and its busy time hardly at all. (A CPU may
				// spend the second in one halt, the kernel being tickless,
				// so its halt count need not rise; the total does, since the
				// /sched requests wake the CPUs that serve them.)
				client.CloseIdleConnections()
				time.Sleep(200 * time.Millisecond) // let the closes settle
				before := schedStats(t, client, g.base)
				time.Sleep(time.Second)
				after := schedStats(t, client, g.base)
				require.Len(t, after, smp)
				var haltsBefore, haltsAfter int64
				for cpu := range after {
					busy := after[cpu].busyMs - before[cpu].busyMs
					idle := after[cpu].idleMs - before[cpu].idleMs
					haltsBefore += before[cpu].halts
					haltsAfter += after[cpu].halts
					// The second /sched request itself costs some time; under
					// QEMU's emulation that is tens of milliseconds at most.
					// Guest time, not the host's: under emulation the guest's
					// clock need not keep pace with the host's.
					assert.Less(t, busy, int64(150), "cpu %d was busy %d ms of an idle second", cpu, busy)
					assert.Greater(t, idle, int64(500), "cpu %d: idle %d ms of an idle second", cpu, idle)
					assert.Greater(t, idle*100/max(idle+busy, 1), int64(85), "cpu %d was halted only %d ms of %d", cpu, idle, idle+busy)
				}
				assert.Greater(t, haltsAfter, haltsBefore, "the CPUs halted again after serving /sched")
			})

			forbidden := httpGet(t, client, g.base+"/quit")
			assert.Contains(t, string(forbidden), "wrong or missing token", "/quit without the token is refused")
			// The server answers "bye" and the program exits at once: the
			// answer must arrive all the same, as from a Linux process
			// (docs/networking.md, "Nothing lost at exit").
			resp, err := client.Get(g.base + "/quit?token=" + g.token)
			if assert.NoError(t, err, "the answer to /quit was lost at exit") {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, "bye\n", string(body))
			}
			r := g.wait(t)
			assert.Equal(t, 0, r.ExitCode, "%s", r.Console)
			assert.Contains(t, string(r.Output), "shut down cleanly")
		})
	}
}

// httpGet returns the body of a GET.
func httpGet(t *testing.T, c *http.Client, url string) []byte {
	resp, err := c.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return body
}

// patternOK checks a /bytes response of n bytes.
func patternOK(b []byte, n int) bool {
	if len(b) != n {
		return false
	}
	for i := range b {
		if b[i] != byte(i*7+i/251) {
			return false
		}
	}
	return true
}

type cpuStat struct{ busyMs, idleMs, halts int64 }

// schedStats reads the guest's /proc/gometal/sched through examples/httpd.
func schedStats(t *testing.T, c *http.Client, base string) []cpuStat {
	resp, err := c.Get(base + "/sched")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	var stats []cpuStat
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] == "cpu" || f[0] == "tid" {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		busy, err1 := strconv.ParseInt(f[1], 10, 64)
		idle, err2 := strconv.ParseInt(f[2], 10, 64)
		halts, err3 := strconv.ParseInt(f[5], 10, 64)
		require.NoError(t, errors.Join(err1, err2, err3), "%q", line)
		stats = append(stats, cpuStat{busy, idle, halts})
	}
	return stats
}
