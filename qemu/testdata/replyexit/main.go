// Command replyexit is a server that writes its reply and exits at once:
// it listens on :80, accepts one connection, reads one request line
// ("TOKEN SIZE\n"), writes SIZE bytes made of the token and calls os.Exit
// without closing anything. On Linux the reply arrives whole after the
// process is gone; the kernel must do the same (qemu/exitdrain_test.go).
// With -shutdown it serves the request through net/http and calls
// srv.Shutdown before os.Exit, as a chi or net/http server does.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	shutdown := flag.Bool("shutdown", false, "serve over HTTP and call Shutdown before exiting")
	flag.Parse()
	l, err := net.Listen("tcp", ":80")
	if err != nil {
		fmt.Println("replyexit:", err)
		os.Exit(1)
	}
	fmt.Println("replyexit: listening")
	if *shutdown {
		serveHTTP(l)
		return
	}
	c, err := l.Accept()
	if err != nil {
		fmt.Println("replyexit:", err)
		os.Exit(1)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		fmt.Println("replyexit:", err)
		os.Exit(1)
	}
	token, size, _ := strings.Cut(strings.TrimSpace(line), " ")
	n, _ := strconv.Atoi(size)
	if _, err := c.Write(reply(token, n)); err != nil {
		fmt.Println("replyexit:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// reply is n bytes of token repeated.
func reply(token string, n int) []byte {
	return bytes.Repeat([]byte(token), n/len(token)+1)[:n]
}

// serveHTTP answers GET /TOKEN/SIZE, then shuts the server down and exits
// right after the handler returned.
func serveHTTP(l net.Listener) {
	srv := &http.Server{}
	done := make(chan struct{})
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		n, _ := strconv.Atoi(parts[len(parts)-1])
		w.Write(reply(parts[0], n))
		close(done)
	})
	go srv.Serve(l)
	<-done
	srv.Shutdown(context.Background())
	os.Exit(0)
}
