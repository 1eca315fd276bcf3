// Command httpd is an unmodified net/http server for the network tests and
// benchmarks: boot it with QEMU user networking and hostfwd, then talk to
// it from the host.
//
//	GET  /           a short greeting
//	GET  /bytes?n=N  N bytes of a fixed pattern (byte i is i*7+i/251 mod 256)
//	POST /echo       the request body back
//	GET  /sched      the kernel's per-CPU statistics (/proc/gometal/sched)
//	GET  /sockets    the kernel's socket table (/proc/gometal/sockets)
//	GET  /quit       answers, then shuts the server down; the program exits 0
//	                 (with -quit-token T, only GET /quit?token=T does)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", ":80", "listen address")
	token := flag.String("quit-token", "", "if set, /quit must carry ?token= with this value")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	var requests atomic.Int64
	quit := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprintf(w, "hello from gometal, request %d\n", requests.Load())
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 0 || n > 1<<30 {
			http.Error(w, "want /bytes?n=COUNT", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for off := 0; off < n; off += patternChunk {
			if _, err := w.Write(PatternAt(off, min(patternChunk, n-off))); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		io.Copy(w, r.Body)
	})
	mux.HandleFunc("/sockets", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile("/proc/gometal/sockets") // the kernel's socket table
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/sched", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile("/proc/gometal/sched") // per-CPU busy time, interrupts, halts
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	var quitOnce sync.Once
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		if *token != "" && r.URL.Query().Get("token") != *token {
			http.Error(w, "wrong or missing token", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, "bye")
		quitOnce.Do(func() { close(quit) })
	})
	srv := &http.Server{Handler: mux}
	fmt.Printf("httpd: listening on %s\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		<-quit
		srv.Shutdown(context.Background()) // waits for the handlers to finish
		close(done)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	<-done
	fmt.Printf("httpd: served %d requests, shut down cleanly\n", requests.Load())
}

// Pattern is byte i of a /bytes response.
func Pattern(i int) byte { return byte(i*7 + i/251) }

// The pattern repeats every patternPeriod bytes (i*7 and i/251 both move
// by multiples of 256 over 251*256 bytes), so /bytes writes slices of one
// precomputed period instead of computing every byte: the bulk rows of
// the bench (docs/performance.md) measure moving the bytes, not this
// function.
const (
	patternPeriod = 251 * 256
	patternChunk  = 32 << 10 // the most one Write sends
)

var (
	patternOnce sync.Once
	patternBuf  []byte // a period and a chunk more, so any chunk is one slice
)

// PatternAt returns bytes [off, off+n) of a /bytes response, n at most
// patternChunk. The caller must not modify them.
func PatternAt(off, n int) []byte {
	patternOnce.Do(func() {
		patternBuf = make([]byte, patternPeriod+patternChunk)
		for i := range patternBuf {
			patternBuf[i] = Pattern(i)
		}
	})
	start := off % patternPeriod
	return patternBuf[start : start+n : start+n]
}
