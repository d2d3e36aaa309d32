package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/configentry"
)

// httpError is an error with the HTTP status it answers with. Handlers
// return these for client mistakes; anything else becomes a 500.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// errResponseWritten tells serveAPI that a handler (or a forward) already
// wrote the whole response.
var errResponseWritten = errors.New("response already written")

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// route is one API path. A path ending in "/" is a prefix: the remainder is
// the path parameter.
type route struct {
	path    string
	methods map[string]handlerFunc
}

// handlerFunc serves one method of a route. It returns the value to encode
// as JSON (nil → empty body), or an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request, param string) (any, error)

// apiHandler is the /v1/ router; forwarded requests enter here too.
func (a *Agent) apiHandler() http.Handler {
	return http.HandlerFunc(a.serveAPI)
}

func (a *Agent) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt, param, ok := a.lookupRoute(r.URL.Path)
	if !ok {
		writeText(w, http.StatusNotFound, fmt.Sprintf("Invalid URL path: not a recognized HTTP API endpoint: %q", r.URL.Path))
		return
	}
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", allowHeader(rt))
		w.WriteHeader(http.StatusOK)
		return
	}
	h, ok := rt.methods[r.Method]
	if !ok {
		w.Header().Set("Allow", allowHeader(rt))
		writeText(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed", r.Method))
		return
	}
	if err := rejectEnterpriseParams(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	out, err := h(w, r, param)
	if errors.Is(err, errResponseWritten) {
		return
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if out == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, r, out)
}

// lookupRoute finds the route for path: an exact match first, else the
// longest prefix route.
func (a *Agent) lookupRoute(path string) (*route, string, bool) {
	a.routesOnce.Do(func() { a.routeTable = a.routes() })
	routes := a.routeTable
	if rt, ok := routes[path]; ok {
		return rt, "", true
	}
	best := ""
	for p := range routes {
		if strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return nil, "", false
	}
	return routes[best], strings.TrimPrefix(path, best), true
}

func allowHeader(rt *route) string {
	ms := []string{"OPTIONS"}
	for m := range rt.methods {
		ms = append(ms, m)
	}
	sort.Strings(ms[1:])
	return strings.Join(ms, ",")
}

// rejectEnterpriseParams refuses namespace/partition selectors (CE).
func rejectEnterpriseParams(r *http.Request) error {
	q := r.URL.Query()
	if q.Get("ns") != "" || r.Header.Get("X-Consul-Namespace") != "" {
		return badRequest(`Invalid query parameter: "ns" - Namespaces are a Consul Enterprise feature`)
	}
	if q.Get("partition") != "" || r.Header.Get("X-Consul-Partition") != "" {
		return badRequest(`Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature`)
	}
	return nil
}

// writeError maps an error to its status: httpError carries its own;
// invalid config entries and chain errors are the client's fault (400);
// anything else is ours (500).
func (a *Agent) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.Is(err, configentry.ErrInvalid), errors.Is(err, configentry.ErrDecode), isClientChainError(err):
		code = http.StatusBadRequest
	case errors.Is(err, errNoLeader):
		code = http.StatusInternalServerError
	}
	if code == http.StatusInternalServerError && !errors.Is(err, errNoLeader) {
		a.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeText(w, code, err.Error())
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

// writeJSON encodes out; ?pretty (any value) indents with 4 spaces and adds
// a trailing newline, as Consul does.
func writeJSON(w http.ResponseWriter, r *http.Request, out any) {
	writeJSONStatus(w, r, http.StatusOK, out)
}

// writeJSONStatus is writeJSON with another status than 200.
func writeJSONStatus(w http.ResponseWriter, r *http.Request, code int, out any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_, pretty := r.URL.Query()["pretty"]
	if pretty {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(out); err != nil {
		writeText(w, http.StatusInternalServerError, "failed to encode response: "+err.Error())
		return
	}
	b := buf.Bytes()
	if !pretty {
		b = bytes.TrimSuffix(b, []byte("\n"))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// startHTTP binds the HTTP API on ClientAddr:Ports.HTTP.
func (a *Agent) startHTTP() error {
	c := a.config
	ln, err := net.Listen("tcp", net.JoinHostPort(c.ClientAddr, strconv.Itoa(c.Ports.HTTP)))
	if err != nil {
		return fmt.Errorf("http port: %w", err)
	}
	a.httpLn = ln
	a.httpAddr = ln.Addr().String()
	c.Ports.HTTP = ln.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	mux.Handle("/v1/", a.limitBody(a.apiHandler()))
	if c.EnableDebug {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusNotFound, "Switchyard: the HTTP API lives under /v1/")
	})
	a.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: c.HTTPReadHeaderTimeout,
		// No WriteTimeout: blocking queries legitimately hold a response
		// open for up to 10 minutes. IdleTimeout reaps idle keep-alives.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 1 << 20,
	}
	a.goRun(func() {
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.logger.Error("http server stopped", "error", err)
		}
	})
	return nil
}

// limitBody caps request bodies at HTTPMaxBodyBytes.
func (a *Agent) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, a.config.HTTPMaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// readCloser turns bytes back into a request body.
func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
