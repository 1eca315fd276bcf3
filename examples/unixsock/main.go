// Unixsock uses Unix-domain sockets the ways Go programs do: a stream
// listener on a path (an echo server through the runtime's poller), a
// datagram socket with named and unnamed senders, socketpairs of every
// type, abstract and automatic names, descriptors passed with SCM_RIGHTS,
// non-blocking calls, epoll readiness and Linux's errors and address
// lengths. It prints what it sees, so the guest's output can be compared
// with Linux's.
package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

var dir string

func main() {
	var err error
	dir, err = os.MkdirTemp("", "unixsock")
	check(err)
	defer os.RemoveAll(dir)
	stream()
	dgram()
	pairs()
	names()
	rights()
	nonblocking()
	blocking()
	readiness()
	sendfile()
}

// stream serves an echo over a path and checks the file, the errors and
// the end of file.
func stream() {
	path := filepath.Join(dir, "echo.sock")
	ln, err := net.Listen("unix", path)
	check(err)
	fi, err := os.Stat(path)
	check(err)
	fmt.Println("stream: the path is a socket:", fi.Mode()&os.ModeSocket != 0)
	_, err = net.Listen("unix", path)
	fmt.Println("stream: listen again:", errnoOf(err))
	accepted := make(chan string, 1)
	go echo(ln, accepted)
	c, err := net.Dial("unix", path)
	check(err)
	fmt.Printf("stream: client local %q remote %q\n", c.LocalAddr().String(), rel(c.RemoteAddr().String()))
	fmt.Print(<-accepted)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i ^ i>>11)
	}
	go func() {
		_, err := c.Write(data)
		check(err)
		check(c.(*net.UnixConn).CloseWrite())
	}()
	check(c.SetDeadline(time.Now().Add(30 * time.Second)))
	got, err := io.ReadAll(c)
	check(err)
	fmt.Printf("stream: echoed %d bytes, checksum matches: %v\n", len(got), sha256.Sum256(got) == sha256.Sum256(data))
	check(c.Close())
	check(ln.Close())
	_, err = os.Stat(path)
	fmt.Println("stream: after the listener closed:", errnoOf(err))
	_, err = net.Dial("unix", filepath.Join(dir, "nosuch"))
	fmt.Println("stream: dial a missing path:", errnoOf(err))
	check(os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644))
	_, err = net.Dial("unix", filepath.Join(dir, "plain"))
	fmt.Println("stream: dial a regular file:", errnoOf(err))
	s, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	check(syscall.Bind(s, &syscall.SockaddrUnix{Name: filepath.Join(dir, "idle")}))
	_, err = net.Dial("unix", filepath.Join(dir, "idle"))
	fmt.Println("stream: dial a bound socket that does not listen:", errnoOf(err))
	_, err = net.Dial("unixgram", filepath.Join(dir, "idle"))
	fmt.Println("stream: dial it as a datagram socket:", errnoOf(err))
	check(syscall.Close(s))
	_, err = net.Dial("unix", filepath.Join(dir, "idle"))
	fmt.Println("stream: dial it after close (the file stays):", errnoOf(err))
}

// echo answers one connection with what it reads, then closes; it
// describes the connection on accepted.
func echo(ln net.Listener, accepted chan<- string) {
	c, err := ln.Accept()
	check(err)
	accepted <- fmt.Sprintf("stream: accepted local %q remote %q\n", rel(c.LocalAddr().String()), c.RemoteAddr().String())
	_, err = io.Copy(c, c)
	check(err)
	check(c.Close())
}

// dgram sends datagrams from named and unnamed sockets.
func dgram() {
	path := filepath.Join(dir, "dgram.sock")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	check(err)
	anon, err := net.DialUnix("unixgram", nil, srv.LocalAddr().(*net.UnixAddr))
	check(err)
	named, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "sender.sock"), Net: "unixgram"})
	check(err)
	for _, m := range []string{"one", "", "three"} {
		_, err := anon.Write([]byte(m))
		check(err)
	}
	_, err = named.WriteTo([]byte("from a name"), srv.LocalAddr())
	check(err)
	check(srv.SetReadDeadline(time.Now().Add(10 * time.Second)))
	buf := make([]byte, 64)
	for range 3 {
		n, from, err := srv.ReadFromUnix(buf)
		check(err)
		fmt.Printf("dgram: %q from %v\n", buf[:n], from)
	}
	n, oobn, flags, from, err := srv.ReadMsgUnix(buf[:4], nil)
	check(err)
	fmt.Printf("dgram: %q (truncated: %v, oob %d) from %q\n", buf[:n], flags&syscall.MSG_TRUNC != 0, oobn, rel(from.String()))
	_, err = anon.WriteTo([]byte("x"), srv.LocalAddr())
	fmt.Println("dgram: WriteTo on a connected socket:", err != nil)
	check(named.Close())
	_, err = srv.WriteTo([]byte("x"), &net.UnixAddr{Name: filepath.Join(dir, "sender.sock"), Net: "unixgram"})
	fmt.Println("dgram: send to a closed socket's path:", errnoOf(err))
	check(srv.Close())
	_, err = anon.Write([]byte("x"))
	fmt.Println("dgram: send after the peer closed:", errnoOf(err))
	_, err = anon.Write([]byte("x"))
	fmt.Println("dgram: and again:", errnoOf(err))
	check(anon.Close())
}

// sigpipe reports whether SIGPIPE arrives on c soon.
func sigpipe(c chan os.Signal) bool {
	select {
	case <-c:
		return true
	case <-time.After(300 * time.Millisecond):
		return false
	}
}

// pairs uses socketpair(2) for each socket type.
func pairs() {
	pipeSig := make(chan os.Signal, 4)
	signal.Notify(pipeSig, syscall.SIGPIPE)
	defer signal.Stop(pipeSig)
	for _, typ := range []struct {
		name string
		t    int
	}{{"stream", syscall.SOCK_STREAM}, {"dgram", syscall.SOCK_DGRAM}, {"seqpacket", syscall.SOCK_SEQPACKET}} {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, typ.t|syscall.SOCK_CLOEXEC, 0)
		check(err)
		for _, m := range []string{"ab", "cde"} {
			_, err := syscall.Write(fds[0], []byte(m))
			check(err)
		}
		buf := make([]byte, 16)
		n, err := syscall.Read(fds[1], buf)
		check(err)
		v, err := syscall.GetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_TYPE)
		check(err)
		fmt.Printf("pair %s: SO_TYPE %d, first read %q\n", typ.name, v, buf[:n])
		check(syscall.Shutdown(fds[0], syscall.SHUT_WR))
		_, err = syscall.Write(fds[0], []byte("x"))
		fmt.Printf("pair %s: write after SHUT_WR: %s, SIGPIPE %v\n", typ.name, errnoOf(err), sigpipe(pipeSig))
		check(syscall.Close(fds[0]))
		check(syscall.SetNonblock(fds[1], true))
		var reads []string
		for range 3 {
			n, err := syscall.Read(fds[1], buf)
			if err != nil {
				reads = append(reads, errnoOf(err))
				break
			}
			reads = append(reads, fmt.Sprintf("%q", buf[:n]))
		}
		fmt.Printf("pair %s: reads after close: %s\n", typ.name, strings.Join(reads, " "))
		err = syscall.Sendmsg(fds[1], []byte("x"), nil, nil, syscall.MSG_NOSIGNAL)
		fmt.Printf("pair %s: send to a closed peer (MSG_NOSIGNAL): %s, SIGPIPE %v\n", typ.name, errnoOf(err), sigpipe(pipeSig))
		check(syscall.Close(fds[1]))
	}
	_, err := syscall.Socketpair(syscall.AF_UNIX, 99, 0)
	fmt.Println("pair: bad type:", errnoOf(err))
}

// names binds abstract and automatic names and reads sockaddr lengths.
func names() {
	abstract := fmt.Sprintf("@gometal-unixsock-%d-%d", os.Getpid(), time.Now().UnixNano())
	ln, err := net.Listen("unix", abstract)
	check(err)
	fmt.Println("names: abstract name kept:", ln.Addr().String() == abstract)
	_, err = net.Listen("unix", abstract)
	fmt.Println("names: abstract name again:", errnoOf(err))
	c, err := net.Dial("unix", abstract)
	check(err)
	check(c.Close())
	check(ln.Close())
	auto, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Net: "unixgram"})
	check(err)
	fmt.Println("names: automatic name:", regexp.MustCompile(`^@[0-9a-f]{5}$`).MatchString(auto.LocalAddr().String()))
	check(auto.Close())

	s, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	check(err)
	fmt.Println("names: unbound length:", nameLen(s))
	check(syscall.Bind(s, &syscall.SockaddrUnix{Name: filepath.Join(dir, "len.sock")}))
	fmt.Println("names: path length - path:", nameLen(s)-len(filepath.Join(dir, "len.sock")))
	err = syscall.Bind(s, &syscall.SockaddrUnix{Name: filepath.Join(dir, "len2.sock")})
	fmt.Println("names: bind twice:", errnoOf(err))
	_, err = os.Stat(filepath.Join(dir, "len2.sock"))
	fmt.Println("names: the second path:", errnoOf(err))
	check(syscall.Close(s))
	s, err = syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	check(syscall.Bind(s, &syscall.SockaddrUnix{Name: "@abc"}))
	fmt.Println("names: abstract length:", nameLen(s))
	_, err = syscall.Getpeername(s)
	fmt.Println("names: getpeername unconnected:", errnoOf(err))
	err = syscall.Listen(s, 1)
	check(err)
	_, err = syscall.GetsockoptInt(s, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	fmt.Println("names: a TCP option:", errnoOf(err))
	v, _ := syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	fmt.Println("names: SO_ACCEPTCONN:", v)
	check(syscall.Close(s))
	_, err = syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 7)
	fmt.Println("names: bad protocol:", errnoOf(err))
}

// nameLen returns the address length getsockname reports for s.
func nameLen(s int) int {
	var rsa syscall.RawSockaddrAny
	l := uint32(unsafe.Sizeof(rsa))
	_, _, e := syscall.Syscall(syscall.SYS_GETSOCKNAME, uintptr(s), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return -int(e)
	}
	return int(l)
}

// rights passes a file, a pipe and a socket with SCM_RIGHTS.
func rights() {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	fa, fb := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	ca, err := net.FileConn(fa)
	check(err)
	cb, err := net.FileConn(fb)
	check(err)
	check(fa.Close())
	check(fb.Close())
	ua, ub := ca.(*net.UnixConn), cb.(*net.UnixConn)

	path := filepath.Join(dir, "passed.txt")
	check(os.WriteFile(path, []byte("hello, passed file"), 0o644))
	f, err := os.Open(path)
	check(err)
	head := make([]byte, 7)
	_, err = io.ReadFull(f, head)
	check(err)
	pr, pw, err := os.Pipe()
	check(err)
	xy, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	check(err)
	x, y := xy[0], xy[1]
	_, _, err = ua.WriteMsgUnix([]byte("fds"), syscall.UnixRights(int(f.Fd()), int(pw.Fd()), y), nil)
	check(err)
	check(f.Close())
	check(pw.Close())
	check(syscall.Close(y))

	buf := make([]byte, 16)
	oob := make([]byte, syscall.CmsgSpace(3*4))
	n, oobn, flags, _, err := ub.ReadMsgUnix(buf, oob)
	check(err)
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	check(err)
	got, err := syscall.ParseUnixRights(&msgs[0])
	check(err)
	fmt.Printf("rights: %q with %d descriptors, oob %d bytes, flags %#x\n", buf[:n], len(got), oobn, flags)
	for _, fd := range got {
		fl, err := fcntl(fd, syscall.F_GETFD)
		check(err)
		fmt.Println("rights: close-on-exec:", fl&syscall.FD_CLOEXEC != 0)
	}
	rest, err := io.ReadAll(os.NewFile(uintptr(got[0]), "file"))
	check(err)
	fmt.Printf("rights: the file reads on from the shared offset: %q\n", rest)
	w := os.NewFile(uintptr(got[1]), "pipe")
	_, err = w.Write([]byte("through the passed pipe"))
	check(err)
	check(w.Close())
	all, err := io.ReadAll(pr)
	check(err)
	fmt.Printf("rights: %q\n", all)
	_, err = syscall.Write(got[2], []byte("through the passed socket"))
	check(err)
	n, err = syscall.Read(x, buf)
	check(err)
	fmt.Printf("rights: %q\n", buf[:n])
	check(syscall.Close(got[2]))
	check(syscall.Close(x))

	passcred(ub, 1)
	_, _, err = ua.WriteMsgUnix([]byte("creds"), syscall.UnixRights(int(pr.Fd())), nil)
	check(err)
	oob = make([]byte, 128)
	n, oobn, flags, _, err = ub.ReadMsgUnix(buf, oob)
	check(err)
	fmt.Printf("rights: with SO_PASSCRED: %q, oob %d, flags %#x\n", buf[:n], oobn, flags)
	msgs, err = syscall.ParseSocketControlMessage(oob[:oobn])
	check(err)
	for _, m := range msgs {
		if m.Header.Type == syscall.SCM_CREDENTIALS {
			c, err := syscall.ParseUnixCredentials(&m)
			check(err)
			fmt.Println("rights: credentials of this program:", c.Pid == int32(os.Getpid()), c.Uid == uint32(os.Getuid()), c.Gid == uint32(os.Getgid()))
			continue
		}
		got, err := syscall.ParseUnixRights(&m)
		check(err)
		fmt.Println("rights: then descriptors:", len(got))
		check(syscall.Close(got[0]))
	}
	passcred(ub, 0)
	_, _, err = ua.WriteMsgUnix([]byte("x"), syscall.UnixRights(987), nil)
	fmt.Println("rights: a closed descriptor:", errnoOf(err))
	_, _, err = ua.WriteMsgUnix([]byte("y"), syscall.UnixRights(int(pr.Fd())), nil)
	check(err)
	n, oobn, flags, _, err = ub.ReadMsgUnix(buf, make([]byte, 4))
	check(err)
	fmt.Printf("rights: a short control buffer: %q, oob %d, truncated %v\n", buf[:n], oobn, flags&syscall.MSG_CTRUNC != 0)
	check(pr.Close())
	check(ua.Close())
	check(ub.Close())
}

// passcred sets SO_PASSCRED on c.
func passcred(c *net.UnixConn, on int) {
	rc, err := c.SyscallConn()
	check(err)
	check(rc.Control(func(fd uintptr) {
		check(syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, on))
	}))
}

// nonblocking fills a non-blocking socketpair and drains it.
func nonblocking() {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
	check(err)
	_, err = syscall.Read(fds[1], make([]byte, 8))
	fmt.Println("nonblocking: read of an empty socket:", errnoOf(err))
	chunk := bytes.Repeat([]byte{'z'}, 4096)
	total := 0
	for {
		n, err := syscall.Write(fds[0], chunk)
		if err != nil {
			fmt.Println("nonblocking: a full socket:", errnoOf(err), total > 0)
			break
		}
		total += n
	}
	n, err := syscall.Read(fds[1], make([]byte, 8))
	check(err)
	fmt.Println("nonblocking: read", n)
	drained := n
	for {
		n, err := syscall.Read(fds[1], make([]byte, 65536))
		if err != nil {
			break
		}
		drained += n
	}
	fmt.Println("nonblocking: drained all that was written:", drained == total)
	check(syscall.Close(fds[0]))
	check(syscall.Close(fds[1]))
}

// blocking makes blocking calls that have to wait for another thread:
// a read of an empty socket, writes to a full one, a datagram receive and
// an accept.
func blocking() {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, err := syscall.Write(fds[0], []byte("late"))
		check(err)
	}()
	buf := make([]byte, 64<<10)
	n, err := syscall.Read(fds[1], buf)
	check(err)
	fmt.Printf("blocking: a read waited for %q\n", buf[:n])
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	got := make(chan []byte)
	go func() {
		time.Sleep(100 * time.Millisecond)
		var all []byte
		for len(all) < len(data) {
			n, err := syscall.Read(fds[1], buf)
			check(err)
			all = append(all, buf[:n]...)
		}
		got <- all
	}()
	for off := 0; off < len(data); {
		n, err := syscall.Write(fds[0], data[off:])
		check(err)
		off += n
	}
	fmt.Println("blocking: 1 MiB through a full socket:", bytes.Equal(<-got, data))
	check(syscall.Close(fds[0]))
	check(syscall.Close(fds[1]))

	d, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	check(err)
	go func() {
		time.Sleep(100 * time.Millisecond)
		check(syscall.Sendto(d[0], []byte("datagram"), 0, nil))
	}()
	n, _, err = syscall.Recvfrom(d[1], buf, 0)
	check(err)
	fmt.Printf("blocking: a receive waited for %q\n", buf[:n])
	check(syscall.Close(d[0]))
	check(syscall.Close(d[1]))

	l, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	path := filepath.Join(dir, "blocking.sock")
	check(syscall.Bind(l, &syscall.SockaddrUnix{Name: path}))
	check(syscall.Listen(l, 4))
	go func() {
		time.Sleep(100 * time.Millisecond)
		c, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		check(err)
		check(syscall.Connect(c, &syscall.SockaddrUnix{Name: path}))
		_, err = syscall.Write(c, []byte("hi"))
		check(err)
		check(syscall.Close(c))
	}()
	a, _, err := syscall.Accept(l)
	check(err)
	n, err = syscall.Read(a, buf)
	check(err)
	fmt.Printf("blocking: accept waited; the connection says %q\n", buf[:n])
	n, err = syscall.Read(a, buf)
	fmt.Println("blocking: then end of file:", n, errnoOf(err))
	check(syscall.Close(a))
	check(syscall.Close(l))
}

// readiness reports the epoll events of a socket as its peer writes,
// shuts down and closes.
func readiness() {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	check(err)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	lone, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	for _, fd := range []int{fds[1], lone} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP, Fd: int32(fd)}
		check(syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev))
	}
	show := func(when string) {
		evs := make([]syscall.EpollEvent, 4)
		n, err := syscall.EpollWait(ep, evs, 0)
		check(err)
		var parts []string
		for _, fd := range []int{fds[1], lone} {
			for _, e := range evs[:n] {
				if int(e.Fd) == fd {
					parts = append(parts, fmt.Sprintf("%#x", e.Events))
				}
			}
		}
		fmt.Printf("readiness %s: %s\n", when, strings.Join(parts, " "))
	}
	show("at first")
	_, err = syscall.Write(fds[0], []byte("x"))
	check(err)
	show("after a write")
	check(syscall.Shutdown(fds[0], syscall.SHUT_WR))
	show("after the peer's SHUT_WR")
	check(syscall.Close(fds[0]))
	show("after the peer's close")
	check(syscall.Close(fds[1]))
	check(syscall.Close(lone))
	check(syscall.Close(ep))
}

// sendfile copies a file's bytes to a socket, a pipe and a file with
// sendfile(2).
func sendfile() {
	path := filepath.Join(dir, "source")
	data := make([]byte, 100000)
	for i := range data {
		data[i] = byte(i * 13)
	}
	check(os.WriteFile(path, data, 0o644))
	in, err := syscall.Open(path, syscall.O_RDONLY, 0)
	check(err)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	check(err)
	n, err := syscall.Sendfile(fds[0], in, nil, 5000)
	pos, _ := syscall.Seek(in, 0, io.SeekCurrent)
	fmt.Printf("sendfile: to a socket: %d %s, file offset %d\n", n, errnoOf(err), pos)
	buf := make([]byte, 8192)
	got := 0
	for got < n {
		k, err := syscall.Read(fds[1], buf[got:])
		check(err)
		got += k
	}
	fmt.Println("sendfile: the bytes arrive:", bytes.Equal(buf[:got], data[:5000]))
	off := int64(10)
	n, err = syscall.Sendfile(fds[0], in, &off, 20)
	pos, _ = syscall.Seek(in, 0, io.SeekCurrent)
	fmt.Printf("sendfile: from an offset: %d %s, offset now %d, file offset %d\n", n, errnoOf(err), off, pos)
	k, err := syscall.Read(fds[1], buf)
	check(err)
	fmt.Println("sendfile: those bytes:", bytes.Equal(buf[:k], data[10:30]))
	var p [2]int
	check(syscall.Pipe(p[:]))
	n, err = syscall.Sendfile(p[1], in, nil, 1000)
	fmt.Printf("sendfile: to a pipe: %d %s\n", n, errnoOf(err))
	out, err := syscall.Open(filepath.Join(dir, "copy"), syscall.O_WRONLY|syscall.O_CREAT, 0o644)
	check(err)
	n, err = syscall.Sendfile(out, in, nil, 1<<20)
	fmt.Printf("sendfile: to a file: %d %s\n", n, errnoOf(err))
	n, err = syscall.Sendfile(out, in, nil, 1<<20)
	fmt.Printf("sendfile: at the end: %d %s\n", n, errnoOf(err))
	_, err = syscall.Sendfile(out, p[0], nil, 10)
	fmt.Println("sendfile: from a pipe:", errnoOf(err))
	app, err := syscall.Open(filepath.Join(dir, "copy"), syscall.O_WRONLY|syscall.O_APPEND, 0)
	check(err)
	off = 0
	_, err = syscall.Sendfile(app, in, &off, 10)
	fmt.Println("sendfile: to a file open for appending:", errnoOf(err))
	_, err = syscall.Sendfile(out, 999, nil, 10)
	fmt.Println("sendfile: from a closed descriptor:", errnoOf(err))
	for _, fd := range []int{in, out, app, p[0], p[1], fds[0], fds[1]} {
		check(syscall.Close(fd))
	}
}

// fcntl runs fcntl(2) with no argument.
func fcntl(fd, cmd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// errnoOf names the system error in err.
func errnoOf(err error) string {
	var e syscall.Errno
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &e):
		return e.Error()
	}
	return "error: " + rel(err.Error())
}

// rel shows a path relative to the temporary directory.
func rel(s string) string { return strings.ReplaceAll(s, dir, "$DIR") }

func check(err error) {
	if err != nil {
		fmt.Println("error:", rel(err.Error()))
		os.Exit(1)
	}
}
