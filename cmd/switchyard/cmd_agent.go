package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/switchyard/switchyard/agent"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// agentFlags are the parsed flags of `switchyard agent`. Plain settings are
// kept as setters applied on top of defaults and config files, and only
// when given on the command line, so a config file value is never
// overwritten by a flag's default.
type agentFlags struct {
	fs                                               *flag.FlagSet
	dev, validate                                    *bool
	configFiles, configDirs, retryJoin, retryJoinWAN stringList
	set                                              map[string]func(c *agent.Config, v string) error
}

func newAgentFlags(stderr io.Writer) *agentFlags {
	f := &agentFlags{fs: newFlagSet("agent", stderr), set: map[string]func(*agent.Config, string) error{}}
	fs := f.fs
	f.dev = fs.Bool("dev", false, "run one self-bootstrapping server with a temporary data dir and HTTP on 127.0.0.1:8500")
	f.validate = fs.Bool("validate-config", false, "check the config (files, dirs and flags) the way a start would, print whether it is valid, and exit without starting")
	fs.Var(&f.configFiles, "config-file", "agent config file (HCL or JSON); repeatable")
	fs.Var(&f.configDirs, "config-dir", "directory of *.hcl / *.json agent config files; repeatable")
	fs.Var(&f.retryJoin, "retry-join", "LAN gossip address (host:port) of a server to join; repeatable")
	fs.Var(&f.retryJoinWAN, "retry-join-wan", "WAN gossip address (host:port) of a server in another datacenter; repeatable")
	str := func(name, usage string, apply func(c *agent.Config, v string)) {
		fs.String(name, "", usage)
		f.set[name] = func(c *agent.Config, v string) error { apply(c, v); return nil }
	}
	num := func(name, usage string, apply func(c *agent.Config, n int)) {
		fs.String(name, "", usage)
		f.set[name] = func(c *agent.Config, v string) error {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil {
				return fmt.Errorf("-%s: %q is not a number", name, v)
			}
			apply(c, n)
			return nil
		}
	}
	boolean := func(name, usage string, def bool, apply func(c *agent.Config, b bool)) {
		fs.Bool(name, def, usage)
		f.set[name] = func(c *agent.Config, v string) error { apply(c, v == "true"); return nil }
	}
	boolean("server", "run as a server (the only mode)", true, func(c *agent.Config, b bool) { c.Server = b })
	boolean("log-json", "log JSON lines", false, func(c *agent.Config, b bool) { c.LogJSON = b })
	boolean("enable-debug", "serve Go's profiler under /debug/pprof/ on the HTTP address", false, func(c *agent.Config, b bool) { c.EnableDebug = b })
	num("bootstrap-expect", "bootstrap once this many servers are seen", func(c *agent.Config, n int) { c.BootstrapExpect = n })
	str("node", "node name (default: hostname)", func(c *agent.Config, v string) { c.NodeName = v })
	str("node-id", "node UUID (default: generated and kept in the data dir)", func(c *agent.Config, v string) { c.NodeID = v })
	str("datacenter", "datacenter name (default dc1)", func(c *agent.Config, v string) { c.Datacenter = v })
	str("primary-datacenter", "datacenter authoritative for config entries", func(c *agent.Config, v string) { c.PrimaryDatacenter = v })
	str("data-dir", "directory for Raft data", func(c *agent.Config, v string) { c.DataDir = v })
	str("bind", "address for server RPC and gossip", func(c *agent.Config, v string) { c.BindAddr = v })
	str("advertise", "address other servers use to reach this one", func(c *agent.Config, v string) { c.AdvertiseAddr = v })
	str("client", "address the HTTP API listens on", func(c *agent.Config, v string) { c.ClientAddr = v })
	num("http-port", "HTTP API port (8500)", func(c *agent.Config, n int) { c.Ports.HTTP = n })
	num("server-port", "server RPC and Raft port (8300)", func(c *agent.Config, n int) { c.Ports.Server = n })
	num("serf-lan-port", "LAN gossip port (8301)", func(c *agent.Config, n int) { c.Ports.SerfLAN = n })
	num("serf-wan-port", "WAN gossip port (8302)", func(c *agent.Config, n int) { c.Ports.SerfWAN = n })
	num("grpc-port", "peering gRPC port (8503)", func(c *agent.Config, n int) { c.Ports.GRPC = n })
	str("log-level", "trace, debug, info, warn or error", func(c *agent.Config, v string) { c.LogLevel = v })
	fs.String("peering-token-ttl", "", "how long a peering token stays usable (default 1h)")
	f.set["peering-token-ttl"] = func(c *agent.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("-peering-token-ttl: %q is not a positive duration", v)
		}
		c.Peering.TokenTTL = d
		return nil
	}
	return f
}

// config builds the agent config: defaults (or dev defaults), then config
// dirs and files in order, then the flags that were given.
func (f *agentFlags) config() (*agent.Config, error) {
	cfg := agent.DefaultConfig()
	if *f.dev {
		cfg = agent.DevConfig()
	}
	for _, d := range f.configDirs {
		if err := agent.LoadConfigDir(cfg, d); err != nil {
			return nil, err
		}
	}
	for _, file := range f.configFiles {
		if err := agent.LoadConfigFile(cfg, file); err != nil {
			return nil, err
		}
	}
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		if apply, ok := f.set[fl.Name]; ok && err == nil {
			err = apply(cfg, fl.Value.String())
		}
	})
	cfg.RetryJoin = append(cfg.RetryJoin, f.retryJoin...)
	cfg.RetryJoinWAN = append(cfg.RetryJoinWAN, f.retryJoinWAN...)
	return cfg, err
}

// validateAgentConfig runs the same checks a start runs before it opens
// anything (Finalize: required values, names, addresses, ports, timings),
// so a provisioning script or a unit's ExecStartPre can vet a config
// without binding ports or touching the data dir.
func validateAgentConfig(cfg *agent.Config, stdout, stderr io.Writer) int {
	// Finalize gives -dev a temporary data dir; a check must leave none.
	tempDataDir := cfg.DevMode && cfg.DataDir == ""
	err := cfg.Finalize()
	if tempDataDir && cfg.DataDir != "" {
		_ = os.RemoveAll(cfg.DataDir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "Error: invalid configuration:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Configuration is valid: node %q, datacenter %q, server %v, bootstrap-expect %d, advertise %s\n",
		cfg.NodeName, cfg.Datacenter, cfg.Server, cfg.BootstrapExpect, cfg.AdvertiseAddr)
	return 0
}

// runAgent: switchyard agent [flags]. Runs until SIGINT/SIGTERM or
// PUT /v1/agent/leave, then leaves gracefully (a leader hands over first).
func runAgent(args []string, stdout, stderr io.Writer) int {
	f := newAgentFlags(stderr)
	if err := f.fs.Parse(args); err != nil {
		return 1
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "Error: unexpected argument %q\n", f.fs.Arg(0))
		return 1
	}
	cfg, err := f.config()
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	if *f.validate {
		return validateAgentConfig(cfg, stdout, stderr)
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name: "switchyard", Level: hclog.LevelFromString(cfg.LogLevel), JSONFormat: cfg.LogJSON, Output: stderr,
	})
	a, err := agent.New(cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "Error starting agent:", err)
		return 1
	}
	fmt.Fprintf(stdout, "==> Switchyard agent running: node %q, datacenter %q, HTTP %s\n", cfg.NodeName, cfg.Datacenter, a.HTTPAddr())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	select {
	case sig := <-sigs:
		logger.Info("caught signal, leaving", "signal", sig)
	case <-a.LeaveRequested():
		logger.Info("leave requested over the API")
	}
	stop := startLeaveWatchdog(leaveDeadline, logger, stderr, os.Exit)
	defer stop()
	if err := a.Leave(); err != nil {
		logger.Error("leave failed", "error", err)
		return 1
	}
	return 0
}

// leaveDeadline bounds a graceful leave. Its own steps give up within
// about 22 s (gossip leave 5 s, removal from Raft 10 s, WAN leave 5 s, HTTP
// drain 2 s); a leave still running after this is stuck.
const leaveDeadline = 25 * time.Second

// startLeaveWatchdog calls exit(1) if the leave has not finished after d,
// first logging every goroutine's stack so the stuck step can be found. A
// server told to stop then stops, instead of hanging until it is killed
// without a trace. The returned func disarms it.
func startLeaveWatchdog(d time.Duration, logger hclog.Logger, stderr io.Writer, exit func(int)) (stop func()) {
	t := time.AfterFunc(d, func() {
		buf := make([]byte, 8<<20)
		n := runtime.Stack(buf, true)
		logger.Error("leave did not finish in time; exiting; goroutine stacks follow", "after", d)
		fmt.Fprintf(stderr, "%s\n", buf[:n])
		exit(1)
	})
	return func() { t.Stop() }
}
