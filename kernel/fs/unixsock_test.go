package fs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func newUnix(t *testing.T) (*UnixSockets, *Mem) {
	return new(UnixSockets), &Mem{Frames: fakeRAM(t, 4*unixRingPages), Budget: 4 * unixRingPages}
}

func sockaddr(path string, n int) []byte {
	b := make([]byte, 110)
	b[0] = unix.AF_UNIX
	copy(b[2:], path)
	if n < 0 {
		n = 2 + len(path) + 1
	}
	return b[:n]
}

func addr(t *testing.T, s string) *UnixAddr {
	n := 2 + len(s)
	if s != "" && s[0] != 0 {
		n++
	}
	var a UnixAddr
	auto, e := ParseUnixAddr(&a, sockaddr(s, n), n)
	require.Equal(t, ok, e)
	require.False(t, auto)
	return &a
}

func TestParseUnixAddr(t *testing.T) {
	var a UnixAddr
	auto, e := ParseUnixAddr(&a, sockaddr("/tmp/s", -1), 9)
	require.Equal(t, ok, e)
	assert.False(t, auto)
	assert.Equal(t, "/tmp/s", string(a.Bytes()))
	assert.Equal(t, 9, a.SockaddrLen(), "a path's length counts its NUL")

	a = UnixAddr{}
	_, e = ParseUnixAddr(&a, sockaddr("/tmp/s", 8), 8)
	require.Equal(t, ok, e, "a path without its NUL")
	assert.Equal(t, "/tmp/s", string(a.Bytes()))

	a = UnixAddr{}
	_, e = ParseUnixAddr(&a, sockaddr("\x00ab\x00c", 7), 7)
	require.Equal(t, ok, e)
	assert.True(t, a.Abstract())
	assert.Equal(t, "\x00ab\x00c", string(a.Bytes()), "an abstract name keeps its NULs")
	assert.Equal(t, 7, a.SockaddrLen())

	a = UnixAddr{}
	auto, e = ParseUnixAddr(&a, sockaddr("", 2), 2)
	assert.Equal(t, ok, e)
	assert.True(t, auto, "the family alone asks for autobind")

	_, e = ParseUnixAddr(&a, sockaddr("", 1), 1)
	assert.Equal(t, EINVAL, e)
	_, e = ParseUnixAddr(&a, make([]byte, 111), 111)
	assert.Equal(t, EINVAL, e, "family AF_UNSPEC")
	b := sockaddr("x", 110)
	_, e = ParseUnixAddr(&a, append(b, 0), 111)
	assert.Equal(t, EINVAL, e, "longer than sockaddr_un")
	var none UnixAddr
	assert.Equal(t, 2, none.SockaddrLen())
}

func TestUnixStreamPair(t *testing.T) {
	us, m := newUnix(t)
	a, b, e := us.Pair(unix.SOCK_STREAM)
	require.Equal(t, ok, e)
	assert.Equal(t, 2, us.Live)
	assert.Equal(t, uint32(unix.EPOLLOUT|unix.EPOLLWRNORM|unix.EPOLLWRBAND), us.Poll(a))
	var msg UnixMsg
	assert.Equal(t, EAGAIN, us.Recv(m, b, make([]byte, 4), false, &msg))

	n, e := us.Send(m, a, -1, []byte("hello "), 0)
	require.Equal(t, ok, e)
	assert.Equal(t, 6, n)
	_, e = us.Send(m, a, -1, []byte("world"), 0)
	require.Equal(t, ok, e)
	assert.NotZero(t, us.Poll(b)&unix.EPOLLIN)
	assert.Equal(t, 11, us.Buffered(b))

	buf := make([]byte, 8)
	require.Equal(t, ok, us.Recv(m, b, buf, true, &msg))
	assert.Equal(t, "hello wo", string(buf[:msg.N]), "peek spans writes")
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Equal(t, "hello wo", string(buf[:msg.N]))
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Equal(t, "rld", string(buf[:msg.N]))
	assert.Zero(t, us.Buffered(b))

	require.Equal(t, ok, us.Shutdown(a, unix.SHUT_WR))
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Zero(t, msg.N, "end of file after the peer shut writing")
	assert.NotZero(t, us.Poll(b)&unix.EPOLLRDHUP)
	_, e = us.Send(m, a, -1, []byte("x"), 0)
	assert.Equal(t, EPIPE, e)
	n, e = us.Send(m, b, -1, []byte("back"), 0)
	require.Equal(t, ok, e, "the other direction still works")
	assert.Equal(t, 4, n)
}

func TestUnixStreamClose(t *testing.T) {
	us, m := newUnix(t)
	a, b, _ := us.Pair(unix.SOCK_STREAM)
	_, e := us.Send(m, a, -1, []byte("data"), 0)
	require.Equal(t, ok, e)
	us.Unref(a)
	assert.Equal(t, a, us.Dying())
	peer, ino := us.Close(m, a)
	assert.Equal(t, b, peer)
	assert.Zero(t, ino)
	assert.Equal(t, -1, us.Dying())
	want := uint32(unix.EPOLLIN | unix.EPOLLRDNORM | unix.EPOLLRDHUP | unix.EPOLLHUP)
	assert.Equal(t, want, us.Poll(b)&want)
	var msg UnixMsg
	buf := make([]byte, 10)
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Equal(t, "data", string(buf[:msg.N]), "data sent before close stays readable")
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Zero(t, msg.N)
	_, e = us.Send(m, b, -1, []byte("x"), 0)
	assert.Equal(t, EPIPE, e)
	_, pe := us.PeerName(b)
	assert.Equal(t, ok, pe, "still connected to the closed peer's name")

	// Unread data in the closing socket resets its peer.
	c, d, _ := us.Pair(unix.SOCK_STREAM)
	_, e = us.Send(m, c, -1, []byte("unread"), 0)
	require.Equal(t, ok, e)
	us.Unref(d)
	us.Close(m, d)
	assert.NotZero(t, us.Poll(c)&unix.EPOLLERR)
	assert.Equal(t, unix.ECONNRESET, us.Recv(m, c, buf, false, &msg))
	require.Equal(t, ok, us.Recv(m, c, buf, false, &msg))
	assert.Zero(t, msg.N, "then end of file")
	assert.Zero(t, m.Taken-us.pagesHeld(), "closed sockets hold no page")
}

// pagesHeld counts the ring pages the live sockets hold.
func (us *UnixSockets) pagesHeld() int64 {
	var n int64
	for i := range us.s {
		for _, pa := range us.s[i].ring.pages {
			if pa != 0 {
				n++
			}
		}
	}
	return n
}

func TestUnixListenConnectAccept(t *testing.T) {
	us, m := newUnix(t)
	l, _ := us.New(unix.SOCK_STREAM)
	assert.Equal(t, EINVAL, us.Listen(l, 5), "unbound")
	require.Equal(t, ok, us.Bind(l, addr(t, "/tmp/l"), 42))
	assert.Equal(t, EINVAL, us.Bind(l, addr(t, "/tmp/m"), 43), "bound twice")
	c, _ := us.New(unix.SOCK_STREAM)
	j, e := us.Lookup(unix.SOCK_STREAM, addr(t, "/tmp/l"), 42)
	require.Equal(t, ok, e)
	assert.Equal(t, l, j)
	_, e = us.Lookup(unix.SOCK_DGRAM, addr(t, "/tmp/l"), 42)
	assert.Equal(t, unix.EPROTOTYPE, e)
	_, e = us.Lookup(unix.SOCK_STREAM, addr(t, "/tmp/x"), 7)
	assert.Equal(t, unix.ECONNREFUSED, e)
	_, e = us.Connect(c, l)
	assert.Equal(t, unix.ECONNREFUSED, e, "not listening")
	assert.Equal(t, uint32(unix.EPOLLHUP), us.Poll(c)&unix.EPOLLHUP, "unconnected stream sockets report HUP")

	require.Equal(t, ok, us.Listen(l, 1))
	assert.Zero(t, us.Poll(l))
	_, e = us.Accept(l)
	assert.Equal(t, EAGAIN, e)
	srv, e := us.Connect(c, l)
	require.Equal(t, ok, e)
	assert.Equal(t, uint32(unix.EPOLLIN|unix.EPOLLRDNORM), us.Poll(l))
	_, e = us.Connect(c, l)
	assert.Equal(t, unix.EISCONN, e)
	c2, _ := us.New(unix.SOCK_STREAM)
	_, e = us.Connect(c2, l)
	require.Equal(t, ok, e, "backlog 1 takes two")
	c3, _ := us.New(unix.SOCK_STREAM)
	_, e = us.Connect(c3, l)
	assert.Equal(t, EAGAIN, e, "the queue is full")

	got, e := us.Accept(l)
	require.Equal(t, ok, e)
	assert.Equal(t, srv, got)
	assert.Equal(t, "/tmp/l", string(us.Name(srv).Bytes()), "the accepted side has the listener's name")
	pn, _ := us.PeerName(srv)
	assert.Zero(t, pn.N, "the client is unnamed")
	pn, _ = us.PeerName(c)
	assert.Equal(t, "/tmp/l", string(pn.Bytes()))
	_, e = us.Send(m, c, -1, []byte("ping"), 0)
	require.Equal(t, ok, e)
	var msg UnixMsg
	buf := make([]byte, 8)
	require.Equal(t, ok, us.Recv(m, srv, buf, false, &msg))
	assert.Equal(t, "ping", string(buf[:msg.N]))

	// Closing the listener resets the connection it never accepted.
	us.Unref(l)
	e2 := us.PopEmbryo(l)
	require.GreaterOrEqual(t, e2, 0)
	us.Unref(e2)
	_, ino := us.Close(m, l)
	assert.Equal(t, Ino(42), ino)
	require.Equal(t, e2, us.Dying())
	us.Close(m, e2)
	assert.Equal(t, unix.ECONNRESET, us.Recv(m, c2, buf, false, &msg))
}

func TestUnixDgram(t *testing.T) {
	us, m := newUnix(t)
	r, _ := us.New(unix.SOCK_DGRAM)
	require.Equal(t, ok, us.Bind(r, addr(t, "/tmp/r"), 9))
	s, _ := us.New(unix.SOCK_DGRAM)
	anon, _ := us.New(unix.SOCK_DGRAM)
	require.Equal(t, ok, us.Bind(s, addr(t, "\x00snd"), 0))
	_, e := us.Send(m, s, -1, []byte("x"), 0)
	assert.Equal(t, unix.ENOTCONN, e)

	_, e = us.Send(m, s, r, []byte("first"), 0)
	require.Equal(t, ok, e)
	_, e = us.Send(m, anon, r, nil, 0)
	require.Equal(t, ok, e, "an empty datagram")
	_, e = us.Send(m, s, r, []byte("third"), 0)
	require.Equal(t, ok, e)
	assert.Equal(t, 5, us.Buffered(r), "FIONREAD: the next datagram")

	var msg UnixMsg
	buf := make([]byte, 3)
	require.Equal(t, ok, us.Recv(m, r, buf, false, &msg))
	assert.Equal(t, "fir", string(buf[:msg.N]))
	assert.Equal(t, 5, msg.Full, "the rest is lost")
	assert.Equal(t, "\x00snd", string(msg.From.Bytes()))
	require.Equal(t, ok, us.Recv(m, r, buf, false, &msg))
	assert.Zero(t, msg.N)
	assert.Zero(t, msg.From.N, "an unnamed sender")
	require.Equal(t, ok, us.Recv(m, r, buf, false, &msg))
	assert.Equal(t, "thi", string(buf[:msg.N]))
	assert.Equal(t, EAGAIN, us.Recv(m, r, buf, false, &msg))

	// A socket connected elsewhere refuses others.
	require.Equal(t, ok, us.ConnectDgram(r, s))
	_, e = us.Send(m, anon, r, []byte("x"), 0)
	assert.Equal(t, EPERM, e)
	assert.Equal(t, EPERM, us.ConnectDgram(anon, r))
	_, e = us.Send(m, r, -1, []byte("to s"), 0)
	require.Equal(t, ok, e)

	// The peer goes: ECONNREFUSED once, then not connected.
	us.Unref(s)
	us.Close(m, s)
	_, e = us.Send(m, r, -1, []byte("x"), 0)
	assert.Equal(t, unix.ECONNREFUSED, e)
	_, e = us.Send(m, r, -1, []byte("x"), 0)
	assert.Equal(t, unix.ENOTCONN, e)
	_, e = us.Send(m, anon, r, make([]byte, UnixMaxDgram+1), 0)
	assert.Equal(t, unix.EMSGSIZE, e)
}

func TestUnixDgramFull(t *testing.T) {
	us, m := newUnix(t)
	r, _ := us.New(unix.SOCK_DGRAM)
	s, _ := us.New(unix.SOCK_DGRAM)
	require.Equal(t, ok, us.ConnectDgram(s, r))
	sent := 0
	for {
		_, e := us.Send(m, s, -1, []byte("datagram"), 0)
		if e != ok {
			assert.Equal(t, EAGAIN, e)
			break
		}
		sent++
	}
	assert.Equal(t, unixMaxRecords, sent, "the queue holds unixMaxRecords datagrams")
	assert.Zero(t, us.Poll(s)&unix.EPOLLOUT, "not writable while the peer is full")
	var msg UnixMsg
	require.Equal(t, ok, us.Recv(m, r, make([]byte, 8), false, &msg))
	assert.NotZero(t, us.Poll(s)&unix.EPOLLOUT)
}

func TestUnixSeqpacket(t *testing.T) {
	us, m := newUnix(t)
	a, b, _ := us.Pair(unix.SOCK_SEQPACKET)
	for _, s := range []string{"one", "two", ""} {
		_, e := us.Send(m, a, -1, []byte(s), 0)
		require.Equal(t, ok, e)
	}
	var msg UnixMsg
	buf := make([]byte, 10)
	for _, s := range []string{"one", "two", ""} {
		require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
		assert.Equal(t, s, string(buf[:msg.N]), "message boundaries")
	}
	c, _ := us.New(unix.SOCK_SEQPACKET)
	assert.Equal(t, unix.ENOTCONN, us.Recv(m, c, buf, false, &msg))
	_, e := us.Send(m, c, -1, []byte("x"), 0)
	assert.Equal(t, unix.ENOTCONN, e)
	us.Unref(a)
	us.Close(m, a)
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Zero(t, msg.N, "end of file")
	_, e = us.Send(m, b, -1, []byte("x"), 0)
	assert.Equal(t, EPIPE, e)
}

func TestUnixAbstractNames(t *testing.T) {
	us, _ := newUnix(t)
	a, _ := us.New(unix.SOCK_STREAM)
	b, _ := us.New(unix.SOCK_STREAM)
	d, _ := us.New(unix.SOCK_DGRAM)
	require.Equal(t, ok, us.Bind(a, addr(t, "\x00name"), 0))
	assert.Equal(t, unix.EADDRINUSE, us.Bind(b, addr(t, "\x00name"), 0))
	assert.Equal(t, ok, us.Bind(d, addr(t, "\x00name"), 0), "another type has its own names")
	require.Equal(t, ok, us.Autobind(b))
	n := us.Name(b)
	assert.Equal(t, 8, n.SockaddrLen())
	assert.Regexp(t, "^\x00[0-9a-f]{5}$", string(n.Bytes()))
	before := *n
	require.Equal(t, ok, us.Autobind(b))
	assert.Equal(t, before, *us.Name(b), "a bound socket keeps its name")
	c, _ := us.New(unix.SOCK_STREAM)
	require.Equal(t, ok, us.Autobind(c))
	assert.NotEqual(t, before, *us.Name(c))
}

func TestUnixRights(t *testing.T) {
	us, m := newUnix(t)
	a, b, _ := us.Pair(unix.SOCK_STREAM)
	k := us.NewRights()
	require.NotZero(t, k)
	set := us.Rights(k)
	set.Items[0] = Right{Kind: 7, Idx: 3}
	set.N = 1
	_, e := us.Send(m, a, -1, []byte("ab"), 0)
	require.Equal(t, ok, e)
	_, e = us.Send(m, a, -1, []byte("cd"), k)
	require.Equal(t, ok, e)
	_, e = us.Send(m, a, -1, []byte("ef"), 0)
	require.Equal(t, ok, e)
	var msg UnixMsg
	buf := make([]byte, 10)
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Equal(t, "abcd", string(buf[:msg.N]), "a read stops after the message with descriptors")
	assert.Equal(t, k, msg.Rights)
	require.Equal(t, ok, us.Recv(m, b, buf, false, &msg))
	assert.Equal(t, "ef", string(buf[:msg.N]))
	assert.Zero(t, msg.Rights)
	us.FreeRights(k)

	k = us.NewRights()
	_, e = us.Send(m, a, -1, []byte("x"), k)
	require.Equal(t, ok, e)
	assert.Equal(t, k, us.QueuedRights(b), "queued rights are found for release")
	assert.Zero(t, us.QueuedRights(b))
	us.Ref(b)
	us.Unref(b)
	assert.Equal(t, -1, us.Dying(), "a reference is left")
}

func TestUnixStreamBig(t *testing.T) {
	us, m := newUnix(t)
	a, b, _ := us.Pair(unix.SOCK_STREAM)
	src := make([]byte, UnixRingSize+100)
	for i := range src {
		src[i] = byte(i * 7)
	}
	assert.Equal(t, UnixRingSize, us.Room(a))
	n, e := us.Send(m, a, -1, src, 0)
	require.Equal(t, ok, e)
	assert.Equal(t, UnixRingSize, n, "a stream send takes what fits")
	assert.Equal(t, 1, us.Room(a), "no room: a send finds out")
	_, e = us.Send(m, a, -1, src[n:], 0)
	assert.Equal(t, EAGAIN, e)
	var got []byte
	buf := make([]byte, 5000)
	var msg UnixMsg
	for len(got) < len(src) {
		if us.Recv(m, b, buf, false, &msg) == EAGAIN {
			k, e := us.Send(m, a, -1, src[n:], 0)
			require.Equal(t, ok, e)
			n += k
			continue
		}
		got = append(got, buf[:msg.N]...)
	}
	assert.True(t, bytes.Equal(src, got), "the bytes come out as they went in, across the ring's end")
}

func TestUnixOptionsAndPoll(t *testing.T) {
	us, m := newUnix(t)
	s, _ := us.New(unix.SOCK_SEQPACKET)
	assert.Equal(t, uint32(unix.EPOLLHUP), us.Poll(s)&unix.EPOLLHUP, "an unconnected seqpacket socket reports HUP")
	assert.Equal(t, ok, us.Shutdown(s, unix.SHUT_RDWR), "shutdown needs no connection")
	assert.Equal(t, EINVAL, us.Shutdown(s, 3))
	d, _ := us.New(unix.SOCK_DGRAM)
	assert.Zero(t, us.Poll(d)&unix.EPOLLHUP, "datagram sockets never hang up by themselves")
	assert.Equal(t, unix.EOPNOTSUPP, us.Listen(d, 1))
	_, e := us.Accept(d)
	assert.Equal(t, unix.EOPNOTSUPP, e)

	assert.Equal(t, UnixBufDefault, us.Buf(d, true))
	us.SetBuf(d, true, 1000)
	assert.Equal(t, 4608, us.Buf(d, true), "doubled, at least the minimum")
	us.SetBuf(d, false, 100000)
	assert.Equal(t, 200000, us.Buf(d, false))
	us.SetPasscred(d, true)
	assert.True(t, us.Passcred(d))
	assert.Equal(t, ok, us.TakeError(d))

	a, b, _ := us.Pair(unix.SOCK_STREAM)
	for _, p := range []string{"ab", "cde"} {
		_, e := us.Send(m, a, -1, []byte(p), 0)
		require.Equal(t, ok, e)
	}
	assert.Equal(t, 5, us.Buffered(b), "FIONREAD of a stream: every byte")
	_, e = us.New(99)
	assert.Equal(t, unix.ESOCKTNOSUPPORT, e)
}

func TestUnixTableFull(t *testing.T) {
	us, _ := newUnix(t)
	for range MaxUnixSockets {
		_, e := us.New(unix.SOCK_STREAM)
		require.Equal(t, ok, e)
	}
	_, e := us.New(unix.SOCK_STREAM)
	assert.Equal(t, ENFILE, e)
	_, _, e = us.Pair(unix.SOCK_STREAM)
	assert.Equal(t, ENFILE, e)
	assert.Equal(t, MaxUnixSockets, us.Live)
}
