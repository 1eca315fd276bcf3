// Command netloop exercises the socket calls over the loopback interface,
// with no network device needed: an HTTP server and client in one
// program, a UDP echo, and the errors Linux gives for a refused
// connection and a port in use. Its output is the same on Linux.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	url := "http://" + ln.Addr().String() + "/"
	body := bytes.Repeat([]byte("gometal "), 100000) // 800 kB each way
	for i := range 3 {
		resp, err := http.Post(url, "text/plain", bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("http round trip %d: %s, %d bytes, equal %v\n", i, resp.Status, len(got), bytes.Equal(got, body))
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range []string{"ping", "hello udp"} {
		c.Write([]byte(m))
		buf := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			sockets, _ := os.ReadFile("/proc/gometal/sockets")
			log.Fatalf("%v\n%s", err, sockets)
		}
		fmt.Printf("udp echo: %q -> %q\n", m, buf[:n])
	}

	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	port := dead.Addr().(*net.TCPAddr).Port
	_, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	fmt.Println("listen on a port in use: EADDRINUSE", errors.Is(err, syscall.EADDRINUSE))
	dead.Close()
	_, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	fmt.Println("dial a closed port: ECONNREFUSED", errors.Is(err, syscall.ECONNREFUSED))
	_, err = net.Dial("tcp", "127.0.0.1:bad")
	fmt.Println("bad port:", err != nil && strings.Contains(err.Error(), "unknown port"))
}
