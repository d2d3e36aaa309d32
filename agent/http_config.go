package agent

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/go-bexpr"
	"github.com/hashicorp/go-memdb"

	"github.com/switchyard/switchyard/chain"
	"github.com/switchyard/switchyard/configentry"
	"github.com/switchyard/switchyard/fsm"
)

// PUT /v1/config[?cas=N]: decode, normalize, validate the entry and the
// chains it touches, then write it through Raft. Answers true, or false
// when a CAS check fails.
func (a *Agent) configApply(w http.ResponseWriter, r *http.Request, _ string) (any, error) {
	e, err := a.configBodyEntry(r)
	if err != nil {
		return nil, badRequest("Request decoding failed: %v", err)
	}
	cas, err := parseCAS(r)
	if err != nil {
		return nil, err
	}
	if err := e.Normalize(); err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	store := a.state.store()
	_, existing, err := store.ConfigEntry(nil, e.GetKind(), e.GetName())
	if err != nil {
		return nil, err
	}
	// An identical write changes nothing: answer true without a Raft
	// round trip, even for a mismatching CAS, as Consul does.
	if existing != nil && configentry.Equal(existing, e) {
		return true, nil
	}
	if err := a.validateGraph(store, e, "", ""); err != nil {
		return nil, err
	}
	cmd, err := fsm.EncodeConfigUpsert(e, cas)
	if err != nil {
		return nil, err
	}
	res, err := a.raftApply(cmd)
	if err != nil {
		return nil, err
	}
	return res.Ok, nil
}

// decodedConfigBody is a PUT /v1/config body decoded once, where
// configWrite first reads it: the kind gates exported-services writes there,
// and configApply takes the entry (or the decoding error) from the request
// context instead of decoding the body again.
type decodedConfigBody struct {
	entry configentry.Entry
	err   error
}

type decodedConfigBodyKey struct{}

// decodeConfigBody decodes body, attaches the result to r for configApply
// and returns the entry's kind. A body that does not decode still gets the
// lenient peekKind, so that exported-services gating answers exactly as
// before the handler reports the decoding error. For a body that decodes,
// the kind DecodeJSON took is the one peekKind finds: decoding refuses any
// other top-level key spelled like "kind" than Kind and kind, and a
// non-string kind. (With both present and different, peekKind picked one
// by map order; this is the one actually written.)
func decodeConfigBody(r *http.Request, body []byte) (*http.Request, string) {
	e, err := configentry.DecodeJSON(body)
	r = r.WithContext(context.WithValue(r.Context(), decodedConfigBodyKey{}, &decodedConfigBody{entry: e, err: err}))
	if err != nil {
		return r, peekKind(body)
	}
	return r, e.GetKind()
}

// configBodyEntry is the entry of a PUT /v1/config request: the one
// configWrite decoded, or, for a request that did not come through it, the
// body decoded here.
func (a *Agent) configBodyEntry(r *http.Request) (configentry.Entry, error) {
	if d, ok := r.Context().Value(decodedConfigBodyKey{}).(*decodedConfigBody); ok {
		return d.entry, d.err
	}
	body, err := readBody(r, a.config.HTTPMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	return configentry.DecodeJSON(body)
}

// DELETE /v1/config/:kind/:name[?cas=N]
func (a *Agent) configDelete(w http.ResponseWriter, r *http.Request, param string) (any, error) {
	kind, name, _ := strings.Cut(param, "/")
	if !configentry.IsKnownKind(kind) {
		return nil, badRequest("invalid config entry kind: %s", kind)
	}
	if name == "" {
		return nil, badRequest("Missing config entry name")
	}
	if kind == configentry.ProxyDefaults && name != configentry.ProxyDefaultsName {
		return nil, badRequest("Name: invalid name (%q), only %q is supported", name, configentry.ProxyDefaultsName)
	}
	cas, err := parseCAS(r)
	if err != nil {
		return nil, err
	}
	reply := func(ok bool) any {
		if cas != nil {
			return ok
		}
		return struct{}{}
	}
	store := a.state.store()
	_, existing, err := store.ConfigEntry(nil, kind, name)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		return reply(true), nil // deleting what is not there succeeds
	}
	if err := a.validateGraph(store, nil, kind, name); err != nil {
		return nil, err
	}
	cmd, err := fsm.EncodeConfigDelete(kind, name, cas)
	if err != nil {
		return nil, err
	}
	res, err := a.raftApply(cmd)
	if err != nil {
		return nil, err
	}
	return reply(res.Ok), nil
}

// validateGraph checks a proposed change against every chain it touches
// before it reaches Raft, so a refused write costs no log entry. It reads
// the store in place, through the same validator the FSM runs.
func (a *Agent) validateGraph(store *stateStore, upsert configentry.Entry, kind, name string) error {
	return store.ValidateConfigWrite(validateGraphWrite, upsert, kind, name)
}

// isClientChainError reports errors caused by the entries a client wrote
// (graph and compile errors), which answer 400.
func isClientChainError(err error) bool {
	var ge *chain.GraphError
	return errors.As(err, &ge) || errors.Is(err, chain.ErrCompile)
}

// parseCAS reads ?cas=N; nil when absent.
func parseCAS(r *http.Request) (*uint64, error) {
	v, ok := r.URL.Query()["cas"]
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return nil, badRequest("cas: %q is not an unsigned integer", v[0])
	}
	return &n, nil
}

// GET /v1/config/:kind and /v1/config/:kind/:name
func (a *Agent) configGet(w http.ResponseWriter, r *http.Request, param string, qo queryOptions) (queryFunc, error) {
	kind, name, hasName := strings.Cut(param, "/")
	if kind == "" {
		return nil, notFound("Must provide either a kind or both kind and name")
	}
	if !configentry.IsKnownKind(kind) {
		return nil, badRequest("invalid config entry kind: %s", kind)
	}
	if hasName && name != "" {
		return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
			idx, e, err := s.ConfigEntry(ws, kind, name)
			if err != nil {
				return 0, nil, err
			}
			if e == nil {
				// A blocking read keeps waiting for the entry to appear;
				// only the final answer is a 404.
				return idx, notFoundEntry{kind, name}, nil
			}
			return idx, e, nil
		}, nil
	}
	var eval *bexpr.Evaluator
	if qo.filter != "" {
		if kind != configentry.ServiceDefaults {
			return nil, badRequest("filtering not supported for config entry kind=%s", kind)
		}
		var err error
		if eval, err = bexpr.CreateEvaluator(qo.filter); err != nil {
			return nil, badRequest("Failed to create boolean expression evaluator: %v", err)
		}
	}
	return func(ws memdb.WatchSet, s *stateStore) (uint64, any, error) {
		idx, entries, err := s.ConfigEntries(ws, kind)
		if err != nil {
			return 0, nil, err
		}
		out := make([]configentry.Entry, 0, len(entries))
		for _, e := range entries {
			if eval != nil {
				ok, err := eval.Evaluate(e)
				if err != nil {
					return 0, nil, badRequest("filter: %v", err)
				}
				if !ok {
					continue
				}
			}
			out = append(out, e)
		}
		return idx, out, nil
	}, nil
}

// notFoundEntry is the result of reading a missing config entry; read()
// turns it into a 404 after the blocking query ends.
type notFoundEntry struct{ kind, name string }

func (n notFoundEntry) err() error {
	return notFound("Config entry not found for %q / %q", n.kind, n.name)
}
