package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/rpc"
	"github.com/switchyard/switchyard/rpc/pb"
)

// maxForwardHops stops a request bouncing between servers that disagree
// about who leads (each forward adds one hop).
const maxForwardHops = 3

// forwardedHeaders are the request headers that travel with a forward.
var forwardedHeaders = []string{"X-Consul-Token", "Authorization", "X-Consul-Namespace", "X-Consul-Partition", "Content-Type"}

// nonBlockingForwardDeadline bounds a forwarded request that is not a
// blocking query: a write waits at most applyTimeout for Raft.
const nonBlockingForwardDeadline = 30 * time.Second

// errNoLeader is reported when no leader appeared within the hold timeout.
var errNoLeader = errors.New("No cluster leader")

// forwarderServer answers server-to-server gRPC calls.
type forwarderServer struct {
	pb.UnimplementedForwarderServer
	a *Agent
}

// Forward serves an HTTP API request forwarded by another server exactly as
// if it had arrived over HTTP here.
func (s *forwarderServer) Forward(ctx context.Context, req *pb.ForwardRequest) (*pb.ForwardResponse, error) {
	return s.serve(ctx, req)
}

// serve answers one forwarded request, for Forward and ForwardStream alike.
// A refusal is returned as a gRPC status error.
func (s *forwarderServer) serve(ctx context.Context, req *pb.ForwardRequest) (*pb.ForwardResponse, error) {
	if req.Version < rpc.ProtocolVersionMin || req.Version > rpc.ProtocolVersionMax {
		return nil, status.Errorf(codes.FailedPrecondition, "forward protocol version %d not in supported range [%d, %d]", req.Version, rpc.ProtocolVersionMin, rpc.ProtocolVersionMax)
	}
	if req.Hops > maxForwardHops {
		return nil, status.Errorf(codes.Aborted, "request forwarded %d times without reaching the leader", req.Hops)
	}
	target := req.Path
	if req.RawQuery != "" {
		target += "?" + req.RawQuery
	}
	hr, err := http.NewRequestWithContext(withHops(ctx, req.Hops), req.Method, target, bytes.NewReader(req.Body))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "bad forwarded request: %v", err)
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	hr.RemoteAddr = "forwarded:" + req.OriginNode
	rec := httptest.NewRecorder()
	s.a.apiHandler().ServeHTTP(rec, hr)
	resp := &pb.ForwardResponse{Status: int32(rec.Code), Headers: map[string]string{}, Body: rec.Body.Bytes()}
	for k := range rec.Header() {
		resp.Headers[k] = rec.Header().Get(k)
	}
	return resp, nil
}

// Status reports this server's Raft state (used before bootstrapping).
func (s *forwarderServer) Status(ctx context.Context, _ *pb.StatusRequest) (*pb.StatusResponse, error) {
	a := s.a
	leader, _ := a.raft.raft.LeaderWithID()
	return &pb.StatusResponse{
		HasRaftState: a.raft.hadState || a.raft.raft.LastIndex() > 0,
		Leader:       string(leader),
		NodeName:     a.config.NodeName,
		Datacenter:   a.config.Datacenter,
		LastIndex:    a.raft.raft.LastIndex(),
	}, nil
}

type hopsKey struct{}

func withHops(ctx context.Context, hops uint32) context.Context {
	return context.WithValue(ctx, hopsKey{}, hops)
}

func hopsFrom(ctx context.Context) uint32 {
	h, _ := ctx.Value(hopsKey{}).(uint32)
	return h
}

// connPool keeps one gRPC client connection per server address, and on it
// at most one ForwardStream (see forward_stream.go).
type connPool struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	// streams holds the open ForwardStream per address; noStream the
	// addresses of servers that do not implement it (older versions).
	streams  map[string]*forwardStream
	noStream map[string]bool
	closed   bool
	opening  sync.Mutex // held while a stream is being opened
}

func newConnPool() *connPool {
	return &connPool{conns: map[string]*grpc.ClientConn{}, streams: map[string]*forwardStream{}, noStream: map[string]bool{}}
}

func (p *connPool) get(addr string) (pb.ForwarderClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return pb.NewForwarderClient(c), nil
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	p.conns[addr] = c
	return pb.NewForwarderClient(c), nil
}

// Close closes every connection.
func (p *connPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for addr, fs := range p.streams {
		fs.close()
		delete(p.streams, addr)
	}
	for addr, c := range p.conns {
		_ = c.Close()
		delete(p.conns, addr)
	}
}

func (a *Agent) serverStatus(ctx context.Context, addr string) (*pb.StatusResponse, error) {
	c, err := a.conns.get(addr)
	if err != nil {
		return nil, err
	}
	return c.Status(ctx, &pb.StatusRequest{})
}

// forwardToLeader sends r to the current leader and copies its answer to w.
// While there is no leader (an election), it waits up to RPCHoldTimeout
// for one; transport errors to a leader that just died are retried within
// the same budget. It returns errNoLeader if none appeared in time.
//
// A write is sent again only when the previous attempt certainly did not
// reach the leader (see unappliedError), as Consul retries writes only on
// "no leader": once sent, a write may have been applied even though its
// answer was lost, and applying it twice could turn a CAS write that
// succeeded into a reported failure. Such a write answers 503 saying its
// outcome is unknown. Reads are always retried.
func (a *Agent) forwardToLeader(w http.ResponseWriter, r *http.Request, body []byte, write bool) error {
	deadline := time.Now().Add(a.config.RPCHoldTimeout)
	var lastErr error
	for {
		addr, _ := a.raft.raft.LeaderWithID()
		if addr != "" && !a.isLeader() {
			err := a.forwardTo(w, r, body, string(addr))
			if err == nil {
				return nil
			}
			if !mayResend(write, err) {
				a.logger.Warn("forwarded write failed after it was sent; its outcome is unknown", "leader", addr, "path", r.URL.Path, "error", err)
				return &httpError{http.StatusServiceUnavailable, fmt.Sprintf(
					"the write was forwarded to the leader (%s) but no answer came back, so it may or may not have been applied: %v", addr, err)}
			}
			lastErr = err
			a.logger.Debug("forward to leader failed, retrying", "leader", addr, "error", err)
		} else if a.isLeader() {
			// Became leader while waiting: serve locally.
			if body != nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			a.apiHandler().ServeHTTP(w, r)
			return nil
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("%w (last forward error: %v)", errNoLeader, lastErr)
			}
			return errNoLeader
		}
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case <-a.shutdownCh:
			return errNoLeader
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// mayResend reports whether a forward that failed with err may be sent
// again: a read always, a write only if the leader certainly did not act
// on it.
func mayResend(write bool, err error) bool {
	return !write || isUnapplied(err)
}

// forwardTo performs one forward to addr. Only transport failures return
// an error; any HTTP answer (including errors) is copied to w.
func (a *Agent) forwardTo(w http.ResponseWriter, r *http.Request, body []byte, addr string) error {
	c, err := a.conns.get(addr)
	if err != nil {
		return &unappliedError{err}
	}
	req := &pb.ForwardRequest{
		Version: rpc.ProtocolVersionMax, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Headers: map[string]string{}, Body: body, OriginDatacenter: a.config.Datacenter,
		OriginNode: a.config.NodeName, Hops: hopsFrom(r.Context()) + 1,
	}
	for _, h := range forwardedHeaders {
		if v := r.Header.Get(h); v != "" {
			req.Headers[h] = v
		}
	}
	// A blocking query may legitimately take up to its wait (capped at
	// 10 minutes plus jitter); anything else gets a short deadline.
	ctx, cancel := context.WithTimeout(r.Context(), forwardDeadline(r))
	defer cancel()
	var resp *pb.ForwardResponse
	if isBlocking(r) {
		resp, err = c.Forward(ctx, req)
		err = refusalsUnapplied(err)
	} else {
		resp, err = a.conns.forwardOverStream(ctx, addr, c, req)
	}
	if err != nil {
		return err
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(int(resp.Status))
	_, _ = w.Write(resp.Body)
	return nil
}

// isBlocking reports whether r is a blocking query (?index other than 0).
func isBlocking(r *http.Request) bool {
	i := r.URL.Query().Get("index")
	return i != "" && i != "0"
}

// forwardDeadline is the time a forwarded request may take.
func forwardDeadline(r *http.Request) time.Duration {
	if !isBlocking(r) {
		return nonBlockingForwardDeadline
	}
	q := r.URL.Query()
	wait := defaultBlockingWait
	if s := q.Get("wait"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			wait = d
		}
	}
	if wait > maxBlockingWait {
		wait = maxBlockingWait
	}
	return wait + wait/16 + 10*time.Second
}

func (a *Agent) isLeader() bool { return a.raft.raft.State() == raft.Leader }

// readBody reads a request body within the configured size limit.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("request body larger than %d bytes", limit)
	}
	return b, nil
}

// isWrite reports whether the method changes state.
func isWrite(method string) bool {
	return method == http.MethodPut || method == http.MethodPost || method == http.MethodDelete || strings.EqualFold(method, "PATCH")
}
