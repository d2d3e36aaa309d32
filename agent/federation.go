package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/rpc"
	"github.com/switchyard/switchyard/rpc/pb"
)

// errNoPath is Consul's answer for a datacenter no server is known for.
var errNoPath = &httpError{http.StatusInternalServerError, "No path to datacenter"}

// maxDCAttempts bounds the servers of one datacenter a request is tried on
// before giving up; each failed attempt costs at most a connect timeout.
const maxDCAttempts = 3

// forwardToDC serves a request for another datacenter: it is sent over the
// gRPC Forward call to a server of dc (nearest first, the next one on a
// transport failure), whose own read()/write() wrappers then bring it to
// its leader, so blocking and consistency semantics are the target's. The
// answer is copied to w and errResponseWritten returned.
func (a *Agent) forwardToDC(w http.ResponseWriter, r *http.Request, dc string, body []byte) error {
	if body == nil && r.Body != nil && r.Method != http.MethodGet {
		// read() does not pass bodies on (discovery-chain POST has one).
		b, err := readBody(r, a.config.HTTPMaxBodyBytes)
		if err != nil {
			return badRequest("%v", err)
		}
		body = b
	}
	if a.fed == nil {
		return errNoPath
	}
	servers, known := a.fed.router.Servers(dc)
	if !known || len(servers) == 0 {
		return errNoPath
	}
	var lastErr error
	for i, s := range servers {
		if i == maxDCAttempts {
			break
		}
		err := a.forwardTo(w, r, body, s.Addr)
		if err == nil {
			return errResponseWritten
		}
		lastErr = err
		a.fed.router.record(s.Name, 0, err)
		a.logger.Warn("forward to another datacenter failed", "datacenter", dc, "server", s.Name, "error", err)
	}
	return fmt.Errorf("forwarding to datacenter %s failed: %w", dc, lastErr)
}

// forwardRawToDC sends a prepared request to a server of dc, trying the
// next on transport failures, and returns the raw answer. The replicator
// uses it to reach the primary without an HTTP request of its own.
func (a *Agent) forwardRawToDC(ctx context.Context, dc string, req *pb.ForwardRequest) (*pb.ForwardResponse, error) {
	if a.fed == nil {
		return nil, errNoPath
	}
	servers, known := a.fed.router.Servers(dc)
	if !known || len(servers) == 0 {
		return nil, fmt.Errorf("%w %s", errNoPath, dc)
	}
	req.Version, req.OriginDatacenter, req.OriginNode = rpc.ProtocolVersionMax, a.config.Datacenter, a.config.NodeName
	req.Hops++
	var lastErr error
	for i, s := range servers {
		if i == maxDCAttempts || ctx.Err() != nil {
			break
		}
		c, err := a.conns.get(s.Addr)
		if err == nil {
			var resp *pb.ForwardResponse
			if resp, err = c.Forward(ctx, req); err == nil {
				return resp, nil
			}
		}
		lastErr = err
		a.fed.router.record(s.Name, 0, err)
	}
	return nil, fmt.Errorf("datacenter %s: %w", dc, lastErr)
}

// configWrite wraps config entry writes and deletes. Config entries are
// authoritative in the primary datacenter, so a write is sent there whatever
// ?dc= says (http-api.md §1.2); in the primary it is served by its leader.
// exported-services is gated first (config-entries.md §4 step 2), with 400
// because the request, not the server, is at fault.
func (a *Agent) configWrite(fn handlerFunc) handlerFunc {
	local := a.write(fn)
	return func(w http.ResponseWriter, r *http.Request, param string) (any, error) {
		c := a.config
		qo, err := parseQueryOptions(r, c.Datacenter)
		if err != nil {
			return nil, err
		}
		var body []byte
		kind, _, _ := strings.Cut(param, "/")
		if r.Method != http.MethodDelete {
			if body, err = readBody(r, c.HTTPMaxBodyBytes); err != nil {
				return nil, badRequest("Request decoding failed: %v", err)
			}
			r.Body = readCloser(body)
			r, kind = decodeConfigBody(r, body)
		}
		if kind == configentry.ExportedServices {
			explicit := r.URL.Query().Get("datacenter") != "" || r.URL.Query().Get("dc") != ""
			switch {
			case !explicit && c.Datacenter != c.PrimaryDatacenter:
				return nil, badRequest("exported-services writes in secondary datacenters must target the primary datacenter explicitly.")
			case explicit && qo.dc != c.PrimaryDatacenter:
				return nil, badRequest("exported-services writes must not target secondary datacenters.")
			}
		}
		if c.Datacenter != c.PrimaryDatacenter {
			return nil, a.forwardToDC(w, r, c.PrimaryDatacenter, body)
		}
		// Served here: the dc the client named has done its job, and
		// write() must not send the request on to it.
		q := r.URL.Query()
		q.Del("dc")
		q.Del("datacenter")
		r.URL.RawQuery = q.Encode()
		return local(w, r, param)
	}
}

// peekKind reads the Kind (or kind) of a config entry body, "" when the
// body does not say; the handler reports malformed bodies itself.
func peekKind(body []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	for k, v := range top {
		if strings.EqualFold(k, "kind") {
			var s string
			_ = json.Unmarshal(v, &s)
			return s
		}
	}
	return ""
}
