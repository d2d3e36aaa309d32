package peering

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard/switchyard/fsm"
	"github.com/switchyard/switchyard/rpc/pb"
)

// msgStream is the part of a gRPC stream a session uses; the client and
// server streams of StreamResources both satisfy it.
type msgStream interface {
	Send(*pb.ReplicationMessage) error
	Recv() (*pb.ReplicationMessage, error)
}

// session is one live stream with a peer. Both sides run the same session
// (peering.md §4.3); only the dialer subscribes to server addresses and
// only the acceptor sends them.
type session struct {
	m      *Manager
	id     string // local record ID
	peer   string // local record name: the consumer name in exports and the PeerName of imports
	dialer bool
	out    *sendQueue

	subscribed map[string]bool // URLs the peer subscribed to
	nonce      uint64
	sent       ExportState
	latest     *ExportState
	connected  bool
}

// runSession serves one stream until it ends and returns why (nil or a
// graceful cause when nobody failed). The receive and send goroutines end
// with the stream itself: the caller ends it by cancelling the client
// stream's context or by returning from the server handler.
//
// The record is read again once the session is registered: rec was read
// before the stream existed (the dialer's attempt, the acceptor's
// handshake), and a local delete in between finds no session to stop, so
// this session is the only one left to tell the peer. Registering first
// and reading second leaves no gap: a delete committed before the read is
// seen by it, one committed after finds the session registered and stops
// it with errDeletedLocally (Manager.cleanUp).
func (m *Manager) runSession(parent context.Context, stream msgStream, rec *fsm.Peering, dialer bool) error {
	ctx, h := m.startSession(parent, rec.ID)
	defer m.endSession(rec.ID, h)
	s := &session{m: m, id: rec.ID, peer: rec.Name, dialer: dialer, subscribed: map[string]bool{},
		out: newSendQueue(), sent: ExportState{Payloads: map[string][]byte{}}}

	// The sender has its own context so that it can still flush a final
	// Terminated after the session's context was cancelled.
	sendCtx, stopSender := context.WithCancel(context.Background())
	defer stopSender()
	senderDone := make(chan struct{})
	m.goRun(func() { defer close(senderDone); s.sendLoop(sendCtx, stream, h.cancel) })
	recvCh := make(chan *pb.ReplicationMessage)
	recvDone := make(chan struct{})
	m.goRun(func() { defer close(recvDone); s.recvLoop(ctx, stream, recvCh, h.cancel) })

	err := m.liveAtSessionStart(rec.ID)
	if err == nil {
		err = s.serve(ctx, recvCh)
	}
	if errors.Is(err, errDeletedLocally) {
		// Tell the peer before closing, and give the sender a bounded
		// moment to flush: the peer then cleans up its side too.
		s.out.push(&pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Terminated_{Terminated: &pb.ReplicationMessage_Terminated{}}})
		s.out.close()
		flushCtx, cancel := context.WithTimeout(context.Background(), m.cfg.DialTimeout)
		defer cancel()
		select {
		case <-senderDone:
		case <-flushCtx.Done():
		}
		if dialer {
			// Cancelling a client stream may drop data not yet written;
			// the acceptor ends the stream once it has read Terminated.
			select {
			case <-recvDone:
			case <-flushCtx.Done():
			}
		}
	}
	if s.connected {
		var failure error
		if !graceful(err) {
			failure = err
		}
		m.tracker.disconnected(s.id, failure, time.Now())
	}
	return err
}

// liveAtSessionStart reads the record again (see runSession): nil when it
// is still live, errDeletedLocally when it is being deleted or already
// gone (the peer must still be told), errTerminatedPeer when the peer
// already terminated it (it needs no message).
func (m *Manager) liveAtSessionStart(id string) error {
	_, cur, err := m.backend.Store().PeeringByID(nil, id)
	switch {
	case err != nil:
		return err
	case cur == nil || cur.State == fsm.PeeringDeleting || cur.DeletedAt != nil:
		return errDeletedLocally
	case cur.State == fsm.PeeringTerminated:
		return errTerminatedPeer
	}
	return nil
}

// serve runs a live session: subscribe, watch the exports, and loop.
func (s *session) serve(ctx context.Context, recvCh <-chan *pb.ReplicationMessage) error {
	exportCh := make(chan ExportState, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watchWG sync.WaitGroup
	watchWG.Add(1)
	go func() { defer watchWG.Done(); s.watchExports(watchCtx, exportCh) }()
	defer func() { stopWatch(); watchWG.Wait() }()

	// Both sides take the other's exports and trust bundle; only the
	// dialer takes server addresses (peering.md §4.3).
	subs := []string{URLExportedService, URLExportedServiceList, URLTrustBundle}
	if s.dialer {
		subs = append(subs, URLServerAddresses)
	} else {
		s.markConnected()
	}
	for _, u := range subs {
		s.out.push(&pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Request_{Request: &pb.ReplicationMessage_Request{ResourceUrl: u}}})
	}
	return s.loop(ctx, recvCh, exportCh)
}

func (s *session) markConnected() {
	if !s.connected {
		s.connected = true
		s.m.tracker.connected(s.id, time.Now())
	}
}

// loop is the session's single-threaded core: every decision about what to
// send and every import happens here.
func (s *session) loop(ctx context.Context, recvCh <-chan *pb.ReplicationMessage, exportCh <-chan ExportState) error {
	cfg := s.m.cfg
	hb := time.NewTicker(cfg.HeartbeatInterval)
	defer hb.Stop()
	timeout := time.NewTimer(cfg.HeartbeatTimeout)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-timeout.C:
			return errHeartbeatTimout
		case <-hb.C:
			s.out.push(&pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Heartbeat_{Heartbeat: &pb.ReplicationMessage_Heartbeat{}}})
		case st := <-exportCh:
			s.latest = &st
			s.push()
		case msg := <-recvCh:
			if s.dialer {
				s.markConnected()
			}
			if msg.GetHeartbeat() != nil {
				timeout.Reset(cfg.HeartbeatTimeout)
			}
			if err := s.handle(msg); err != nil {
				return err
			}
		}
	}
}

// handle processes one received message.
func (s *session) handle(msg *pb.ReplicationMessage) error {
	now := time.Now()
	switch p := msg.Payload.(type) {
	case *pb.ReplicationMessage_Heartbeat_:
		s.m.tracker.update(s.id, func(st *Status) { st.LastHeartbeat, st.LastReceive = now, now })
	case *pb.ReplicationMessage_Terminated_:
		s.m.log.Info("peer terminated the peering", "peering", s.peer)
		cmd, err := fsm.EncodePeeringSetState(s.id, fsm.PeeringTerminated, nil)
		if err == nil {
			_, err = s.m.backend.Apply(cmd)
		}
		if err != nil {
			return fmt.Errorf("marking peering terminated: %w", err)
		}
		return errTerminatedPeer
	case *pb.ReplicationMessage_Request_:
		return s.handleRequest(p.Request, now)
	case *pb.ReplicationMessage_Response_:
		s.handleResponse(p.Response)
	case *pb.ReplicationMessage_Open_:
		return status.Error(codes.InvalidArgument, "unexpected Open after the stream was opened")
	default:
		return status.Errorf(codes.InvalidArgument, "unknown message %T", msg.Payload)
	}
	return nil
}

func (s *session) handleRequest(req *pb.ReplicationMessage_Request, now time.Time) error {
	if req.ResponseNonce == "" {
		if req.Error != nil {
			return status.Error(codes.InvalidArgument, "a subscription must not carry an error")
		}
		if !knownURL(req.ResourceUrl) {
			return status.Errorf(codes.InvalidArgument, "subscription to unknown resource URL %q", req.ResourceUrl)
		}
		if !s.subscribed[req.ResourceUrl] {
			s.subscribed[req.ResourceUrl] = true
			s.push()
		}
		return nil
	}
	if req.Error != nil {
		s.m.log.Warn("peer rejected a resource", "peering", s.peer, "nonce", req.ResponseNonce, "url", req.ResourceUrl, "error", req.Error.Message)
		s.m.tracker.update(s.id, func(st *Status) { st.LastNack, st.LastNackMsg = now, req.Error.Message })
		return nil
	}
	s.m.tracker.update(s.id, func(st *Status) { st.LastAck = now })
	return nil
}

// handleResponse applies a pushed resource and answers ACK or NACK.
func (s *session) handleResponse(resp *pb.ReplicationMessage_Response) {
	var err error
	switch {
	case resp.Nonce == "":
		err = errors.New("response without a nonce")
	case resp.Operation != pb.ReplicationMessage_OPERATION_UPSERT:
		err = fmt.Errorf("unsupported operation %v", resp.Operation)
	case len(resp.Resource) == 0:
		err = errors.New("response without a resource")
	case !knownURL(resp.ResourceUrl):
		err = fmt.Errorf("unknown resource URL %q", resp.ResourceUrl)
	default:
		err = s.apply(resp)
	}
	ack := &pb.ReplicationMessage_Request{ResourceUrl: resp.ResourceUrl, ResponseNonce: resp.Nonce}
	if err != nil {
		s.m.log.Warn("rejecting a resource from the peer", "peering", s.peer, "url", resp.ResourceUrl, "id", resp.ResourceId, "error", err)
		ack.Error = &pb.ReplicationMessage_Error{Code: int32(codes.InvalidArgument), Message: err.Error()}
	} else {
		now := time.Now()
		s.m.tracker.update(s.id, func(st *Status) { st.LastReceive = now })
	}
	s.out.push(&pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Request_{Request: ack}})
}

func (s *session) apply(resp *pb.ReplicationMessage_Response) error {
	switch resp.ResourceUrl {
	case URLExportedService:
		var p ExportedService
		if err := json.Unmarshal(resp.Resource, &p); err != nil {
			return fmt.Errorf("decoding ExportedService: %w", err)
		}
		return importService(s.m.backend, s.peer, resp.ResourceId, p.Nodes)
	case URLExportedServiceList:
		var p ExportedServiceList
		if err := json.Unmarshal(resp.Resource, &p); err != nil {
			return fmt.Errorf("decoding ExportedServiceList: %w", err)
		}
		if err := importServiceList(s.m.backend, s.peer, p.Services); err != nil {
			return err
		}
		list := append([]string{}, p.Services...)
		s.m.tracker.update(s.id, func(st *Status) { st.ImportedServices = list })
		return nil
	case URLServerAddresses:
		var p ServerAddresses
		if err := json.Unmarshal(resp.Resource, &p); err != nil {
			return fmt.Errorf("decoding ServerAddresses: %w", err)
		}
		if !s.dialer {
			return errors.New("the acceptor does not take server addresses")
		}
		return updateServerAddresses(s.m.backend, s.id, p.Addresses)
	case URLTrustBundle:
		var p TrustBundle
		if err := json.Unmarshal(resp.Resource, &p); err != nil {
			return fmt.Errorf("decoding PeeringTrustBundle: %w", err)
		}
		if err := p.Validate(); err != nil {
			return err
		}
		return storeTrustBundle(s.m.backend, s.id, &fsm.PeeringTrustBundle{TrustDomain: p.TrustDomain, RootPEMs: p.RootPEMs})
	}
	return nil
}

// push sends what the peer lacks of the latest export state.
func (s *session) push() {
	if s.latest == nil {
		return
	}
	cur := *s.latest
	for _, r := range PlanExport(s.sent, cur, s.subscribed) {
		s.nonce++
		s.out.push(&pb.ReplicationMessage{Payload: &pb.ReplicationMessage_Response_{Response: &pb.ReplicationMessage_Response{
			Nonce: fmt.Sprintf("%08x", s.nonce), ResourceUrl: r.URL, ResourceId: r.ID, Resource: r.Body,
			Operation: pb.ReplicationMessage_OPERATION_UPSERT,
		}}})
		if r.URL == URLExportedServiceList {
			list := append([]string{}, cur.Services...)
			s.m.tracker.update(s.id, func(st *Status) { st.ExportedServices = list })
		}
	}
	s.sent = Sent(s.sent, cur, s.subscribed)
}

// watchExports recomputes the export state whenever something it read
// changes and hands the newest to the loop (older undelivered ones are
// dropped: only the latest matters, the plan computes the delta).
func (s *session) watchExports(ctx context.Context, out chan ExportState) {
	for ctx.Err() == nil {
		store := s.m.backend.Store()
		ws := memdb.NewWatchSet()
		ws.Add(store.AbandonCh())
		st, err := s.computeExport(store, ws)
		if err != nil {
			s.m.log.Warn("computing exported services failed", "peering", s.peer, "error", err)
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		select {
		case <-out:
		default:
		}
		out <- st
		_ = ws.WatchCtx(ctx)
	}
}

// computeExport reads what the peer may see: the exported services with
// their payloads, this cluster's trust bundle, and on the acceptor the
// local servers' peering addresses (it advertises them to the dialer).
func (s *session) computeExport(store *fsm.Store, ws memdb.WatchSet) (ExportState, error) {
	st := ExportState{Payloads: map[string][]byte{}}
	_, entry, typical, err := readExports(store, ws)
	if err != nil {
		return st, err
	}
	st.Services = ExportedNames(entry, s.peer, typical)
	for _, name := range st.Services {
		_, nodes, err := store.CheckServiceNodes(ws, name, "")
		if err != nil {
			return st, err
		}
		body, err := json.Marshal(BuildExportedService(nodes))
		if err != nil {
			return st, err
		}
		st.Payloads[name] = body
	}
	if !s.dialer {
		if st.ServerAddrs, err = LocalServerAddresses(store, ws); err != nil {
			return st, err
		}
	}
	domain, roots, err := s.m.backend.TrustBundle(ws)
	if err != nil {
		return st, err
	}
	if domain != "" && len(roots) > 0 {
		// Until the local CA exists there is nothing to send; ws wakes
		// this loop once it does.
		if st.TrustBundle, err = json.Marshal(TrustBundle{TrustDomain: domain, PeerName: s.peer, RootPEMs: roots}); err != nil {
			return st, err
		}
	}
	return st, nil
}

// sendLoop is the only caller of stream.Send. A send failure ends the
// session.
func (s *session) sendLoop(ctx context.Context, stream msgStream, cancel context.CancelCauseFunc) {
	for {
		msg, ok := s.out.pop(ctx)
		if !ok {
			return
		}
		if err := stream.Send(msg); err != nil {
			cancel(fmt.Errorf("sending to peer: %w", err))
			return
		}
		if msg.GetResponse() != nil {
			now := time.Now()
			s.m.tracker.update(s.id, func(st *Status) { st.LastSend = now })
		}
	}
}

// recvLoop is the only caller of stream.Recv. It reads until the stream
// ends, dropping what arrives after the session is over, so that the end
// of the stream is observed (see the Terminated flush in runSession).
func (s *session) recvLoop(ctx context.Context, stream msgStream, out chan<- *pb.ReplicationMessage, cancel context.CancelCauseFunc) {
	for {
		msg, err := stream.Recv()
		if err != nil {
			cancel(err)
			return
		}
		select {
		case out <- msg:
		case <-ctx.Done():
		}
	}
}

// sendQueue is an unbounded FIFO between the loop and the sender, so the
// loop never blocks on a slow peer (which would stop it reading, and the
// peer likewise: a distributed deadlock).
type sendQueue struct {
	mu     sync.Mutex
	items  []*pb.ReplicationMessage
	closed bool
	signal chan struct{}
}

func newSendQueue() *sendQueue { return &sendQueue{signal: make(chan struct{}, 1)} }

func (q *sendQueue) push(m *pb.ReplicationMessage) {
	q.mu.Lock()
	if !q.closed {
		q.items = append(q.items, m)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// close lets the sender drain what is queued and then stop.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop returns the next message, waiting for one; false when ctx is done or
// the queue is closed and drained.
func (q *sendQueue) pop(ctx context.Context) (*pb.ReplicationMessage, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.mu.Unlock()
			return m, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-q.signal:
		case <-ctx.Done():
			return nil, false
		}
	}
}
