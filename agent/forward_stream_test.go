package agent

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/rpc"
	"github.com/switchyard/switchyard/rpc/pb"
)

// serveForwarder runs srv on a loopback gRPC server and returns its address.
func serveForwarder(t *testing.T, srv pb.ForwarderServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	pb.RegisterForwarderServer(g, srv)
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	return ln.Addr().String()
}

func poolFor(t *testing.T, addr string) (*connPool, pb.ForwarderClient) {
	t.Helper()
	p := newConnPool()
	t.Cleanup(p.Close)
	c, err := p.get(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// batchAnswerer collects `batch` requests of a stream, then answers them in
// reverse order with their path as the body; it counts the streams opened.
type batchAnswerer struct {
	pb.UnimplementedForwarderServer
	batch   int
	streams atomic.Int32
}

func (s *batchAnswerer) ForwardStream(st pb.Forwarder_ForwardStreamServer) error {
	s.streams.Add(1)
	for {
		var got []*pb.ForwardRequest
		for len(got) < s.batch {
			req, err := st.Recv()
			if err != nil {
				return nil
			}
			got = append(got, req)
		}
		for i := len(got) - 1; i >= 0; i-- {
			if err := st.Send(&pb.ForwardResponse{Id: got[i].Id, Status: 200, Body: []byte(got[i].Path)}); err != nil {
				return err
			}
		}
	}
}

func TestForwardStreamMatchesAnswersToRequestsByID(t *testing.T) {
	srv := &batchAnswerer{batch: 8}
	addr := serveForwarder(t, srv)
	p, c := poolFor(t, addr)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/v1/req/%d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := p.forwardOverStream(ctx, addr, c, &pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: path})
			if err != nil {
				errs <- err
				return
			}
			if string(resp.Body) != path {
				errs <- fmt.Errorf("request %s got the answer of %s", path, resp.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.streams.Load(); n != 1 {
		t.Fatalf("64 requests opened %d streams, want 1", n)
	}
}

// unaryOnly is a server of a version without ForwardStream.
type unaryOnly struct {
	pb.UnimplementedForwarderServer
	calls atomic.Int32
}

func (s *unaryOnly) Forward(_ context.Context, req *pb.ForwardRequest) (*pb.ForwardResponse, error) {
	s.calls.Add(1)
	return &pb.ForwardResponse{Status: 200, Body: []byte("unary " + req.Path)}, nil
}

func TestForwardStreamFallsBackToForwardOnOlderServers(t *testing.T) {
	srv := &unaryOnly{}
	addr := serveForwarder(t, srv)
	p, c := poolFor(t, addr)
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := p.forwardOverStream(ctx, addr, c, &pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: "/x"})
		cancel()
		if err != nil || string(resp.Body) != "unary /x" {
			t.Fatalf("call %d: %v %v", i, resp, err)
		}
	}
	if n := srv.calls.Load(); n != 3 {
		t.Fatalf("Forward served %d of 3 requests", n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.noStream[addr] || p.streams[addr] != nil {
		t.Fatalf("pool still tries streams against a server without them: noStream=%v", p.noStream[addr])
	}
}

// silentThenBreak never answers; it ends the stream with an error once it
// is told to, and counts the streams opened.
type silentThenBreak struct {
	pb.UnimplementedForwarderServer
	received chan struct{}
	breakNow chan struct{}
	streams  atomic.Int32
}

func (s *silentThenBreak) ForwardStream(st pb.Forwarder_ForwardStreamServer) error {
	s.streams.Add(1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				return
			}
			s.received <- struct{}{}
		}
	}()
	select {
	case <-s.breakNow:
		return status.Error(codes.Internal, "server went away")
	case <-st.Context().Done():
		return nil
	}
}

func TestForwardStreamCallEndsWithItsContext(t *testing.T) {
	srv := &silentThenBreak{received: make(chan struct{}, 10), breakNow: make(chan struct{})}
	addr := serveForwarder(t, srv)
	p, c := poolFor(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := p.forwardOverStream(ctx, addr, c, &pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: "/slow"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	if mayResend(true, err) || !mayResend(false, err) {
		t.Fatalf("after a timeout a write must not be resent and a read may be: %v", err)
	}
	p.mu.Lock()
	fs := p.streams[addr]
	p.mu.Unlock()
	fs.mu.Lock()
	left := len(fs.pending)
	fs.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d abandoned calls still pending", left)
	}
}

func TestForwardStreamFailureFailsWaitingCallsAndReopens(t *testing.T) {
	srv := &silentThenBreak{received: make(chan struct{}, 10), breakNow: make(chan struct{})}
	addr := serveForwarder(t, srv)
	p, c := poolFor(t, addr)
	done := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := p.forwardOverStream(ctx, addr, c, &pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: "/w"})
			done <- err
		}()
	}
	for i := 0; i < 3; i++ {
		<-srv.received
	}
	srv.breakNow <- struct{}{} // to the first stream only
	for i := 0; i < 3; i++ {
		select {
		case err := <-done:
			if status.Code(err) != codes.Internal {
				t.Fatalf("waiting call ended with %v, want the stream's Internal status", err)
			}
			if mayResend(true, err) {
				t.Fatalf("a write that was sent before the stream failed may be resent: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a call still waits on a stream that failed")
		}
	}
	// A call on the failed stream never goes out, so a write may be resent.
	p.mu.Lock()
	old := p.streams[addr]
	p.mu.Unlock()
	_, err := old.call(context.Background(), &pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: "/late"})
	if err == nil || !mayResend(true, err) {
		t.Fatalf("call on a failed stream: %v; want an error that allows resending", err)
	}
	// The next call opens a fresh stream.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = p.forwardOverStream(ctx, addr, c, &pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: "/again"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call on the new stream: %v", err)
	}
	if n := srv.streams.Load(); n != 2 {
		t.Fatalf("streams opened: %d, want 2", n)
	}
}

func TestForwardStreamCarriesRefusalsAndStaysOpen(t *testing.T) {
	// serve refuses bad versions and too many hops before it needs an
	// agent, so the server side runs for real here.
	addr := serveForwarder(t, &forwarderServer{})
	p, c := poolFor(t, addr)
	cases := []struct {
		req  *pb.ForwardRequest
		code codes.Code
	}{
		{&pb.ForwardRequest{Version: rpc.ProtocolVersionMax + 1, Path: "/v1/config"}, codes.FailedPrecondition},
		{&pb.ForwardRequest{Version: rpc.ProtocolVersionMax, Path: "/v1/config", Hops: maxForwardHops + 1}, codes.Aborted},
		{&pb.ForwardRequest{Version: rpc.ProtocolVersionMin - 1, Path: "/v1/config"}, codes.FailedPrecondition},
	}
	for _, tc := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := p.forwardOverStream(ctx, addr, c, tc.req)
		cancel()
		if status.Code(err) != tc.code {
			t.Fatalf("%+v: got %v, want %v", tc.req, err, tc.code)
		}
		if !mayResend(true, err) {
			t.Fatalf("%+v: a refused write is not allowed to be resent: %v", tc.req, err)
		}
	}
	p.mu.Lock()
	fs := p.streams[addr]
	p.mu.Unlock()
	if fs == nil {
		t.Fatal("no stream open after three answered requests")
	}
	if err := fs.broken(); err != nil {
		t.Fatalf("a refusal broke the stream: %v", err)
	}
}
