package agent

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/rpc/pb"
)

// A follower forwards every write to the leader. One unary Forward call per
// write pays for a new HTTP/2 stream each time: headers both ways, stream
// setup and teardown. ForwardStream keeps one stream per leader open and
// multiplexes requests over it by id, so a forwarded write costs two
// messages. Blocking queries stay on Forward: their call lasts as long as
// the client waits and ends when the client goes away.

// ForwardStream serves the requests of one stream concurrently, each
// answered as Forward would answer it; refusals travel as error_code and
// error_message instead of ending the stream.
func (s *forwarderServer) ForwardStream(st pb.Forwarder_ForwardStreamServer) error {
	ctx := st.Context()
	var sendMu sync.Mutex
	ended := false // set when this handler returns; Send is invalid after
	defer func() {
		sendMu.Lock()
		ended = true
		sendMu.Unlock()
	}()
	for {
		req, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		go func() {
			rctx, cancel := context.WithTimeout(ctx, nonBlockingForwardDeadline)
			resp, err := s.serve(rctx, req)
			cancel()
			if err != nil {
				st := status.Convert(err)
				resp = &pb.ForwardResponse{ErrorCode: int32(st.Code()), ErrorMessage: st.Message()}
			}
			resp.Id = req.Id
			sendMu.Lock()
			defer sendMu.Unlock()
			if !ended {
				_ = st.Send(resp) // a failed Send means the stream is gone; the sender sees that
			}
		}()
	}
}

// unappliedError wraps a forward failure after which the leader certainly
// did not act on the request: it was never sent (no connection, no stream,
// a stream already broken), or the server refused it before serving it
// (protocol version, hop limit). Only such failures let a write be sent
// again.
type unappliedError struct{ err error }

func (e *unappliedError) Error() string { return e.err.Error() }
func (e *unappliedError) Unwrap() error { return e.err }

// GRPCStatus keeps the wrapped gRPC status visible to status.Code.
func (e *unappliedError) GRPCStatus() *status.Status { return status.Convert(e.err) }

func isUnapplied(err error) bool {
	var u *unappliedError
	return errors.As(err, &u)
}

// refusalsUnapplied marks the statuses serve refuses with before serving
// a request as unapplied.
func refusalsUnapplied(err error) error {
	switch status.Code(err) {
	case codes.FailedPrecondition, codes.Aborted:
		return &unappliedError{err}
	}
	return err
}

// forwardStream is the client side of one ForwardStream.
type forwardStream struct {
	st     pb.Forwarder_ForwardStreamClient
	cancel context.CancelFunc
	sendMu sync.Mutex // Send is not safe for concurrent use

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan streamResult
	err     error // set once the stream has failed; every later call gets it
}

type streamResult struct {
	resp *pb.ForwardResponse
	err  error
}

func newForwardStream(c pb.ForwarderClient) (*forwardStream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.ForwardStream(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	fs := &forwardStream{st: st, cancel: cancel, pending: map[uint64]chan streamResult{}}
	go fs.recvLoop()
	return fs, nil
}

// recvLoop hands each response to the call waiting for its id until the
// stream fails.
func (fs *forwardStream) recvLoop() {
	for {
		resp, err := fs.st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "forward stream closed by the server")
			}
			fs.fail(err)
			return
		}
		fs.mu.Lock()
		ch, ok := fs.pending[resp.Id]
		delete(fs.pending, resp.Id)
		fs.mu.Unlock()
		if !ok {
			continue // its caller gave up
		}
		if resp.ErrorCode != 0 {
			ch <- streamResult{err: refusalsUnapplied(status.Error(codes.Code(resp.ErrorCode), resp.ErrorMessage))}
		} else {
			ch <- streamResult{resp: resp}
		}
	}
}

// fail marks the stream broken and fails every waiting call with err.
func (fs *forwardStream) fail(err error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.err == nil {
		fs.err = err
	}
	for id, ch := range fs.pending {
		ch <- streamResult{err: fs.err}
		delete(fs.pending, id)
	}
	fs.cancel()
}

func (fs *forwardStream) close() {
	fs.fail(status.Error(codes.Canceled, "forward stream closed"))
}

func (fs *forwardStream) broken() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.err
}

// call sends req and waits for its answer or for ctx to end. Only transport
// failures and refusals are errors, as with Forward.
func (fs *forwardStream) call(ctx context.Context, req *pb.ForwardRequest) (*pb.ForwardResponse, error) {
	ch := make(chan streamResult, 1)
	fs.mu.Lock()
	if fs.err != nil {
		fs.mu.Unlock()
		return nil, &unappliedError{fs.err}
	}
	fs.nextID++
	req.Id = fs.nextID
	fs.pending[req.Id] = ch
	fs.mu.Unlock()

	fs.sendMu.Lock()
	err := fs.st.Send(req)
	fs.sendMu.Unlock()
	if err != nil && !errors.Is(err, io.EOF) {
		// This message could not be sent; the stream itself may be fine.
		fs.forget(req.Id)
		return nil, &unappliedError{err}
	}
	// On io.EOF the stream had ended before this message went out, and
	// recvLoop fails this call with the stream's status.
	notSent := err != nil
	select {
	case r := <-ch:
		if r.err != nil && notSent {
			return nil, &unappliedError{r.err}
		}
		return r.resp, r.err
	case <-ctx.Done():
		fs.forget(req.Id)
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (fs *forwardStream) forget(id uint64) {
	fs.mu.Lock()
	delete(fs.pending, id)
	fs.mu.Unlock()
}

// forwardOverStream sends req to addr over the pool's ForwardStream to it,
// opening one if needed. Against a server without ForwardStream (an older
// version during a rolling upgrade) it falls back to Forward for good.
func (p *connPool) forwardOverStream(ctx context.Context, addr string, c pb.ForwarderClient, req *pb.ForwardRequest) (*pb.ForwardResponse, error) {
	fs, err := p.stream(addr, c)
	if err != nil {
		return nil, &unappliedError{err}
	}
	if fs == nil {
		resp, err := c.Forward(ctx, req)
		return resp, refusalsUnapplied(err)
	}
	resp, err := fs.call(ctx, req)
	if err != nil && status.Code(err) == codes.Unimplemented && status.Code(fs.broken()) == codes.Unimplemented {
		// The server refused the stream method itself, so it never saw
		// this request: sending it again is safe.
		p.mu.Lock()
		p.noStream[addr] = true
		delete(p.streams, addr)
		p.mu.Unlock()
		resp, err := c.Forward(ctx, req)
		return resp, refusalsUnapplied(err)
	}
	return resp, err
}

// stream returns the open stream to addr, opening a new one when there is
// none or the last one failed; nil when addr does not implement streams.
func (p *connPool) stream(addr string, c pb.ForwarderClient) (*forwardStream, error) {
	if fs, ok := p.openStream(addr); ok {
		return fs, nil
	}
	// One caller opens while the others wait for it, so a burst of writes
	// after a leader change opens one stream, not one each. p.mu is not
	// held meanwhile: opening may wait for the connection.
	p.opening.Lock()
	defer p.opening.Unlock()
	if fs, ok := p.openStream(addr); ok {
		return fs, nil
	}
	fs, err := newForwardStream(c)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		fs.close()
		return nil, status.Error(codes.Canceled, "connection pool closed")
	}
	p.streams[addr] = fs
	return fs, nil
}

// openStream returns the working stream to addr (nil when addr does not
// implement streams) and whether the answer is final.
func (p *connPool) openStream(addr string) (*forwardStream, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.noStream[addr] {
		return nil, true
	}
	if fs := p.streams[addr]; fs != nil && fs.broken() == nil {
		return fs, true
	}
	return nil, false
}
