package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/chain"
	"github.com/switchyard/switchyard/configentry"
)

const samples = "../../configentry/testdata/samples"

// runCLI runs the CLI in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigValidateAcceptsEverySample(t *testing.T) {
	for _, ext := range []string{"hcl", "json", "yaml"} {
		files, _ := filepath.Glob(filepath.Join(samples, "*."+ext))
		if len(files) < 10 {
			t.Fatalf("expected the seed samples in %s, found %d .%s files", samples, len(files), ext)
		}
		for _, f := range files {
			// Routers, splitters and subset references need the companion
			// entries (global http protocol, web's subsets) first.
			args := []string{"config", "validate", filepath.Join(samples, "_http-defaults.json"), filepath.Join(samples, "_web-resolver.json"), f}
			code, out, errOut := runCLI(t, args...)
			if code != 0 || strings.TrimSpace(out) != "valid" {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", f, code, out, errOut)
			}
		}
	}
}

func TestConfigValidateRefusesWithFileAndEntry(t *testing.T) {
	dir := t.TempDir()
	router := writeFile(t, dir, "router.hcl", `Kind = "service-router"
Name = "web"
Routes = [{ Match { HTTP { PathPrefix = "/admin" } } Destination { Service = "admin" } }]
`)
	// Without an HTTP protocol the router's chain cannot compile.
	code, out, errOut := runCLI(t, "config", "validate", router)
	if code != 1 || out != "" {
		t.Fatalf("want exit 1 and no stdout, got %d %q", code, out)
	}
	for _, want := range []string{router, `service-router "web"`, "does not permit advanced routing or splitting behavior"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}

	bad := writeFile(t, dir, "bad.json", `{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathExact":"/a","PathPrefix":"/b"}}}]}`)
	code, _, errOut = runCLI(t, "config", "validate", bad)
	if code != 1 || !strings.Contains(errOut, "Routes[0].Match.HTTP") || !strings.Contains(errOut, bad) {
		t.Errorf("entry-local error: exit %d, stderr %q", code, errOut)
	}
}

func TestConfigValidateLaterFileReplacesEarlier(t *testing.T) {
	dir := t.TempDir()
	tcp := writeFile(t, dir, "a.json", `{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"tcp"}}`)
	http := writeFile(t, dir, "b.json", `{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}`)
	splitter := filepath.Join(samples, "splitter-two-services.json")
	if code, _, errOut := runCLI(t, "config", "validate", tcp, splitter); code != 1 {
		t.Fatalf("tcp protocol with a splitter must be refused, stderr %q", errOut)
	}
	if code, out, errOut := runCLI(t, "config", "validate", tcp, http, splitter); code != 0 || out != "valid\n" {
		t.Fatalf("the later http proxy-defaults must replace tcp: exit %d, %q %q", code, out, errOut)
	}
}

func TestConfigConvertRoundTrips(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(samples, "splitter-set-headers.hcl")
	want, err := configentry.DecodeFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"json", "yaml", "hcl"} {
		code, out, errOut := runCLI(t, "config", "convert", "-to", to, src)
		if code != 0 {
			t.Fatalf("convert -to %s: exit %d: %s", to, code, errOut)
		}
		p := writeFile(t, dir, "out."+to, out)
		got, err := configentry.DecodeFile(p)
		if err != nil {
			t.Fatalf("converted %s does not decode: %v\n%s", to, err, out)
		}
		if !configentry.Equal(got[0], want[0]) {
			t.Errorf("convert -to %s changed the entry:\n%s", to, out)
		}
	}
	if code, _, errOut := runCLI(t, "config", "convert", "-to", "toml", src); code != 1 || !strings.Contains(errOut, "-to must be json, hcl or yaml") {
		t.Errorf("bad -to: exit %d, %q", code, errOut)
	}
}

func TestChainCompilePrintsTheAPIBody(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"_http-defaults.json", "peering-resolver-failover.hcl", "peering-splitter.yaml", "peering-resolver-redirect.json"} {
		b, err := os.ReadFile(filepath.Join(samples, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, string(b))
	}
	code, out, errOut := runCLI(t, "chain", "compile", dir, "-service", "frontend")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var resp chain.Response
	if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.Chain == nil {
		t.Fatalf("output is not {\"Chain\": ...}: %v\n%s", err, out)
	}
	c := resp.Chain
	if c.StartNode != "splitter:frontend.default.default" || c.Protocol != "http" {
		t.Errorf("start %q protocol %q", c.StartNode, c.Protocol)
	}
	peer := c.Targets["frontend.default.default.external.cluster-02"]
	if peer == nil || peer.Peer != "cluster-02" || peer.SNI != "" {
		t.Errorf("peer target wrong: %+v", peer)
	}
	// The output must be exactly what the compiler gives for the same set.
	entries, _ := loadEntries([]string{filepath.Join(dir, "_http-defaults.json"), filepath.Join(dir, "peering-resolver-failover.hcl"), filepath.Join(dir, "peering-splitter.yaml"), filepath.Join(dir, "peering-resolver-redirect.json")})
	set, err := checkSet(entries)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := chain.Compile(chain.Request{ServiceName: "frontend", EvaluateInDatacenter: "dc1", TrustDomain: TestTrustDomain}, set)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(chain.Response{Chain: direct})
	if strings.TrimSpace(out) != string(want) {
		t.Errorf("CLI output differs from the compiler's:\n got %s\nwant %s", out, want)
	}
}

func TestChainCompileErrors(t *testing.T) {
	if code, _, errOut := runCLI(t, "chain", "compile", samples); code != 1 || !strings.Contains(errOut, "-service is required") {
		t.Errorf("missing -service: exit %d %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "chain", "compile", "-service", "web", "/nonexistent/dir"); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing path: exit %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "no-such-command"); code != 1 {
		t.Errorf("unknown command must exit 1, got %d", code)
	}
}

func TestAgentFlagsOverrideConfigFileOnlyWhenGiven(t *testing.T) {
	dir := t.TempDir()
	cfgFile := writeFile(t, dir, "agent.hcl", "datacenter = \"east\"\nbootstrap_expect = 3\nports { http = 9500 }\n")
	f := newAgentFlags(&bytes.Buffer{})
	if err := f.fs.Parse([]string{"-config-file", cfgFile, "-http-port", "9600", "-retry-join", "10.0.0.1:8301", "-retry-join", "10.0.0.2:8301"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Datacenter != "east" || cfg.BootstrapExpect != 3 {
		t.Errorf("config file values lost: dc %q expect %d", cfg.Datacenter, cfg.BootstrapExpect)
	}
	if cfg.Ports.HTTP != 9600 {
		t.Errorf("-http-port must win over the file: %d", cfg.Ports.HTTP)
	}
	if len(cfg.RetryJoin) != 2 {
		t.Errorf("repeatable -retry-join: %v", cfg.RetryJoin)
	}
	if cfg.EnableDebug {
		t.Error("enable_debug must default to off")
	}
	debugFile := writeFile(t, dir, "debug.hcl", "enable_debug = true\n")
	f = newAgentFlags(&bytes.Buffer{})
	if err := f.fs.Parse([]string{"-config-file", debugFile}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := f.config(); err != nil || !cfg.EnableDebug {
		t.Errorf("enable_debug = true in a file: %v %v", cfg.EnableDebug, err)
	}
	f = newAgentFlags(&bytes.Buffer{})
	if err := f.fs.Parse([]string{"-enable-debug"}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := f.config(); err != nil || !cfg.EnableDebug {
		t.Errorf("-enable-debug: %v %v", cfg.EnableDebug, err)
	}
	bad := writeFile(t, dir, "bad.hcl", "datacentre = \"east\"\n")
	f = newAgentFlags(&bytes.Buffer{})
	_ = f.fs.Parse([]string{"-config-file", bad})
	if _, err := f.config(); err == nil || !strings.Contains(err.Error(), `unknown config key "datacentre"`) {
		t.Errorf("a misspelt config key must be refused by name: %v", err)
	}
}
