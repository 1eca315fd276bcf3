// Command netloop exercises the socket calls over the loopback interface,
// with no network device needed: an HTTP server and client in one
// program, a UDP echo, a TLS 1.3 exchange with a certificate made on the
// spot, and the errors Linux gives for a refused connection and a port in
// use. Its output is the same on Linux.
package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
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

	tlsRoundTrip()

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

// tlsRoundTrip serves TLS on a loopback port with a fresh self-signed
// certificate for 127.0.0.1 and talks to it with a client that trusts
// only that certificate.
func tlsRoundTrip() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "netloop"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Write([]byte(strings.ToUpper(line)))
	}()
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("secret over tls\n"))
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("tls: %q, version %s\n", reply, tls.VersionName(c.ConnectionState().Version))
}
