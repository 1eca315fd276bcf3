// Command netclient is the guest side of the network client tests: it
// fetches a URL with net/http, does a UDP echo round trip and resolves a
// name through the system resolver (/etc/resolv.conf: QEMU's at 10.0.2.3),
// printing what it got.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to fetch")
	udp := flag.String("udp", "", "UDP echo server host:port")
	lookup := flag.String("lookup", "", "host name to resolve")
	flag.Parse()
	if *url != "" {
		resp, err := http.Get(*url)
		if err != nil {
			log.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("get: %s %d bytes sha256 %x\n", resp.Status, n, h.Sum(nil))
	}
	if *udp != "" {
		c, err := net.Dial("udp", *udp)
		if err != nil {
			log.Fatal(err)
		}
		// UDP may lose a datagram (an ARP exchange still under way, a
		// busy host): send again every 2 seconds, for 20 at most.
		buf := make([]byte, 512)
		var n int
		for try := 0; ; try++ {
			if _, err := c.Write([]byte("ping from gometal")); err != nil {
				log.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, err = c.Read(buf)
			if err == nil {
				break
			}
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() || try == 9 {
				log.Fatal(err)
			}
		}
		fmt.Printf("udp: %q\n", buf[:n])
	}
	if *lookup != "" {
		addrs, err := net.LookupHost(*lookup)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("lookup: %s %v\n", *lookup, addrs)
	}
}
