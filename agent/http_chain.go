package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/chain"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
)

// chainOverrides is the POST body of /v1/discovery-chain/:service. Keys
// match case-insensitively; snake_case aliases are accepted.
type chainOverrides struct {
	OverrideMeshGateway    configentry.MeshGatewayConfig
	OverrideProtocol       string
	OverrideConnectTimeout time.Duration
}

func decodeChainOverrides(body []byte) (chainOverrides, error) {
	var out chainOverrides
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return out, badRequest("Request decoding failed: %v", err)
	}
	for k, v := range raw {
		switch strings.ReplaceAll(strings.ToLower(k), "_", "") {
		case "overridemeshgateway":
			var mgw struct{ Mode string }
			if err := json.Unmarshal(v, &mgw); err != nil {
				return out, badRequest("Request decoding failed: OverrideMeshGateway: %v", err)
			}
			out.OverrideMeshGateway.Mode = mgw.Mode
		case "overrideprotocol":
			if err := json.Unmarshal(v, &out.OverrideProtocol); err != nil {
				return out, badRequest("Request decoding failed: OverrideProtocol: %v", err)
			}
		case "overrideconnecttimeout":
			d, err := decodeDuration(v)
			if err != nil {
				return out, badRequest("Request decoding failed: OverrideConnectTimeout: %v", err)
			}
			out.OverrideConnectTimeout = d
		default:
			return out, badRequest("Request decoding failed: unknown field %q", k)
		}
	}
	switch out.OverrideMeshGateway.Mode {
	case "", "none", "local", "remote":
	default:
		return out, badRequest("Invalid OverrideMeshGateway.Mode parameter")
	}
	return out, nil
}

// decodeDuration accepts a Go duration string or integer nanoseconds.
func decodeDuration(v json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(v, &n); err != nil {
		return 0, fmt.Errorf("expected a duration string or integer nanoseconds")
	}
	return time.Duration(n), nil
}

// GET|POST /v1/discovery-chain/:service[?compile-dc=]
func (a *Agent) discoveryChain(w http.ResponseWriter, r *http.Request, service string, qo queryOptions) (queryFunc, error) {
	if service == "" {
		return nil, badRequest("Missing chain name")
	}
	var ov chainOverrides
	if r.Method == http.MethodPost {
		body, err := readBody(r, a.config.HTTPMaxBodyBytes)
		if err != nil {
			return nil, badRequest("Request decoding failed: %v", err)
		}
		if ov, err = decodeChainOverrides(body); err != nil {
			return nil, err
		}
		// The body was consumed; a forward to the leader needs it again.
		r.Body = readCloser(body)
	}
	dc := r.URL.Query().Get("compile-dc")
	if dc == "" {
		dc = a.config.Datacenter
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		td, err := a.trustDomain(ws, s)
		if err != nil {
			return 0, nil, err
		}
		src := &chainSource{tx: s.ReadTxn(), ws: ws}
		compiled, err := chain.Compile(chain.Request{
			ServiceName:            service,
			EvaluateInDatacenter:   dc,
			TrustDomain:            td,
			OverrideProtocol:       ov.OverrideProtocol,
			OverrideConnectTimeout: ov.OverrideConnectTimeout,
			OverrideMeshGateway:    ov.OverrideMeshGateway,
		}, chain.LookupFunc(src.get))
		if src.err != nil {
			return 0, nil, src.err
		}
		if err != nil {
			return 0, nil, fmt.Errorf("failed to compile discovery chain: %w", err)
		}
		return src.idx, chain.Response{Chain: compiled}, nil
	}, nil
}

// chainSource lets the compiler read entries from one store transaction,
// recording the highest index and the watch channels of exactly the entries
// it looked at, so a write to an unrelated entry does not wake a watcher.
type chainSource struct {
	tx  fsm.ReadTxn
	ws  memdb.WatchSet
	idx uint64
	err error
}

func (c *chainSource) get(kind, name string) configentry.Entry {
	if c.err != nil {
		return nil
	}
	idx, e, err := fsm.ConfigEntryTxn(c.tx, c.ws, kind, name)
	if err != nil {
		c.err = err
		return nil
	}
	c.idx = max(c.idx, idx)
	return e
}
