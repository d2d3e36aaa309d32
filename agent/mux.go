package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// The server port carries two protocols. A Raft connection starts with the
// byte muxRaft, written by our Raft stream layer; anything else is handed to
// gRPC untouched (an HTTP/2 client preface starts with 'P'). One port keeps
// firewall rules and advertised addresses simple, as in Consul.
const muxRaft byte = 0x01

// muxFirstByteTimeout bounds how long an accepted connection may stay silent
// before it is dropped, so idle sockets cannot pile up.
const muxFirstByteTimeout = 10 * time.Second

// serverMux accepts connections on the server port and dispatches them.
type serverMux struct {
	ln     net.Listener
	raft   *chanListener
	grpc   *chanListener
	logger hclog.Logger
	wg     sync.WaitGroup
}

func newServerMux(ln net.Listener, logger hclog.Logger) *serverMux {
	m := &serverMux{
		ln:     ln,
		raft:   newChanListener(ln.Addr()),
		grpc:   newChanListener(ln.Addr()),
		logger: logger,
	}
	m.wg.Add(1)
	go m.acceptLoop()
	return m
}

func (m *serverMux) acceptLoop() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				m.logger.Error("server port accept failed", "error", err)
			}
			m.raft.Close()
			m.grpc.Close()
			return
		}
		go m.route(conn)
	}
}

// route reads the first byte and passes the connection on.
func (m *serverMux) route(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(muxFirstByteTimeout))
	br := bufio.NewReader(conn)
	first, err := br.Peek(1)
	if err != nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if first[0] == muxRaft {
		_, _ = br.Discard(1)
		m.raft.deliver(&bufferedConn{Conn: conn, r: br})
		return
	}
	m.grpc.deliver(&bufferedConn{Conn: conn, r: br})
}

// Close stops accepting; existing connections are closed by their owners.
func (m *serverMux) Close() error {
	err := m.ln.Close()
	m.wg.Wait()
	return err
}

// bufferedConn replays bytes peeked by the mux before reading the socket.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *chanListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// raftStreamLayer lets hashicorp/raft's network transport use the mux.
type raftStreamLayer struct {
	*chanListener
	advertise net.Addr
}

var _ raft.StreamLayer = (*raftStreamLayer)(nil)

// Dial opens a connection to another server's port and marks it as Raft.
func (s *raftStreamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{muxRaft}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft dial %s: %w", addr, err)
	}
	return conn, nil
}

// Addr is the advertised address, which Raft records in its configuration.
func (s *raftStreamLayer) Addr() net.Addr { return s.advertise }
