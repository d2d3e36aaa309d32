package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// defaultHTTPAddr is where the CLI finds the agent unless told otherwise.
const defaultHTTPAddr = "127.0.0.1:8500"

// apiClient is a small HTTP client for the agent's API. The CLI uses it
// rather than typed client structs so that what it prints is exactly what
// the server answered.
type apiClient struct {
	base string
	http *http.Client
}

// clientFlags adds -http-addr to fs; the default comes from
// SWITCHYARD_HTTP_ADDR, then CONSUL_HTTP_ADDR, then 127.0.0.1:8500.
func clientFlags(fs *flag.FlagSet) *string {
	def := defaultHTTPAddr
	for _, env := range []string{"SWITCHYARD_HTTP_ADDR", "CONSUL_HTTP_ADDR"} {
		if v := os.Getenv(env); v != "" {
			def = v
			break
		}
	}
	return fs.String("http-addr", def, "address of the agent's HTTP API (env SWITCHYARD_HTTP_ADDR)")
}

func newAPIClient(addr string) *apiClient {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &apiClient{base: strings.TrimRight(addr, "/"), http: &http.Client{Timeout: 60 * time.Second}}
}

// apiError is a non-2xx answer, rendered like the official client does.
type apiError struct {
	code int
	body string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("Unexpected response code: %d (%s)", e.code, strings.TrimSpace(e.body))
}

// do sends a request and returns the body of a 2xx answer.
func (c *apiClient) do(method, path string, query url.Values, body []byte) ([]byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if tok := os.Getenv("CONSUL_HTTP_TOKEN"); tok != "" {
		req.Header.Set("X-Consul-Token", tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the agent at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &apiError{resp.StatusCode, string(b)}
	}
	return b, nil
}

// getJSON decodes a 2xx JSON answer into out.
func (c *apiClient) getJSON(path string, query url.Values, out any) error {
	b, err := c.do(http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// indentJSON pretty-prints a JSON body for people.
func indentJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "    "); err != nil {
		return string(b)
	}
	return buf.String()
}
