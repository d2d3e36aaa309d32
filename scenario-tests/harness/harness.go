// Package harness starts and controls real switchyard server processes for
// scenario tests. It uses only the built binary and the HTTP API.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary builds cmd/switchyard once per test binary and returns its path
// (or SWITCHYARD_TEST_BINARY's, when set).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// A prebuilt binary, e.g. of another revision or with the race
		// detector, can be supplied instead of building this tree's.
		if p := os.Getenv("SWITCHYARD_TEST_BINARY"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "switchyard-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtDir = dir
		binPath = filepath.Join(dir, "switchyard")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/switchyard")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var (
	buildOnce sync.Once
	binPath   string
	builtDir  string // the temporary directory Binary built into, if it did
	buildErr  error
)

// RemoveBuiltBinary deletes what Binary built. A package's TestMain calls
// it after its tests; each run used to leave a 30 MB binary in the
// temporary directory.
func RemoveBuiltBinary() {
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
}

// Server is one switchyard process and what is needed to restart it.
type Server struct {
	Name    string
	DataDir string
	LogPath string
	Ports   Ports
	Args    []string
	// Host is the address the server binds and advertises: 127.0.0.1, or
	// its own address when it runs in the network namespace Netns.
	Host  string
	Netns string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// Ports are a server's listening ports.
type Ports struct{ HTTP, Server, SerfLAN, SerfWAN, GRPC int }

func (s *Server) host() string {
	if s.Host == "" {
		return "127.0.0.1"
	}
	return s.Host
}

// HTTPAddr is the server's HTTP API address.
func (s *Server) HTTPAddr() string { return net.JoinHostPort(s.host(), strconv.Itoa(s.Ports.HTTP)) }

// LANAddr is the server's LAN gossip address, for -retry-join.
func (s *Server) LANAddr() string { return net.JoinHostPort(s.host(), strconv.Itoa(s.Ports.SerfLAN)) }

// RaftAddr is the server's Raft/RPC address as the Raft configuration shows it.
func (s *Server) RaftAddr() string { return net.JoinHostPort(s.host(), strconv.Itoa(s.Ports.Server)) }

// GRPCAddr is the server's peering gRPC address.
func (s *Server) GRPCAddr() string { return net.JoinHostPort(s.host(), strconv.Itoa(s.Ports.GRPC)) }

// Running reports whether the process is alive (it may be paused).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// FreePorts reserves n distinct free TCP ports on loopback that are also free
// for UDP (gossip uses both). A port can in principle be taken between this
// call and the server binding it; the scenario then fails loudly at start.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var hold []io.Closer
	defer func() {
		for _, c := range hold {
			c.Close()
		}
	}()
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			l.Close()
			continue
		}
		hold = append(hold, l, u)
		out = append(out, port)
	}
	return out
}

// Start launches the process and returns once its HTTP API answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(t); err != nil {
		t.Fatal(err)
	}
}

// TryStart is Start returning the failure (for example a refusal to start,
// with the log's last lines) instead of ending the test.
func (s *Server) TryStart(t testing.TB) error { return s.start(t) }

// errPortTaken marks a start that failed because a port was taken between
// FreePorts and the bind (parallel test packages pick ports too).
var errPortTaken = errors.New("port taken")

// start is Start returning the failure instead of ending the test.
func (s *Server) start(t testing.TB) error {
	f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(Binary(t), s.Args...)
	if s.Netns != "" {
		// ip netns exec enters the namespace and execs the binary, so the
		// PID is the server's own and signals reach it directly.
		cmd = exec.Command("ip", append([]string{"netns", "exec", s.Netns, Binary(t)}, s.Args...)...)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %v", s.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.paused = cmd, exited, false
	s.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			if s.LogContains("address already in use") {
				return fmt.Errorf("%s: %w:\n%s", s.Name, errPortTaken, s.LogTail(5))
			}
			return fmt.Errorf("%s exited during start-up; log:\n%s", s.Name, s.LogTail(40))
		default:
		}
		if resp, err := http.Get("http://" + s.HTTPAddr() + "/v1/agent/self"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	return fmt.Errorf("%s did not answer HTTP within 20s; log:\n%s", s.Name, s.LogTail(40))
}

// Client is the HTTP client of Get and Do. It keeps enough idle
// connections per server for benchmarks with many concurrent clients;
// http.DefaultClient keeps two, so most requests would open a connection.
var Client = &http.Client{Transport: &http.Transport{
	MaxIdleConns:        1024,
	MaxIdleConnsPerHost: 256,
	IdleConnTimeout:     90 * time.Second,
}}

// Pid is the process ID of the running server, or 0.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill(t testing.TB) { s.signalAndWait(t, syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM (graceful leave) and waits up to 30s.
func (s *Server) Stop(t testing.TB) { s.signalAndWait(t, syscall.SIGTERM, 30*time.Second) }

func (s *Server) signalAndWait(t testing.TB, sig syscall.Signal, timeout time.Duration) {
	t.Helper()
	s.mu.Lock()
	cmd, exited, paused := s.cmd, s.exited, s.paused
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if paused && sig != syscall.SIGKILL {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-exited:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("%s did not exit within %s after %v", s.Name, timeout, sig)
	}
}

// Pause freezes the process (SIGSTOP); Resume thaws it (SIGCONT).
func (s *Server) Pause(t testing.TB) { s.setPaused(t, true) }

// Resume continues a paused process.
func (s *Server) Resume(t testing.TB) { s.setPaused(t, false) }

func (s *Server) setPaused(t testing.TB, p bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sig := syscall.SIGCONT
	if p {
		sig = syscall.SIGSTOP
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v %s: %v", sig, s.Name, err)
	}
	s.paused = p
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	b, _ := os.ReadFile(s.LogPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogContains reports whether the server's log (all of its runs) holds s.
func (s *Server) LogContains(sub string) bool {
	b, _ := os.ReadFile(s.LogPath)
	return bytes.Contains(b, []byte(sub))
}

// Get performs a GET against the server and returns status, body, headers.
func (s *Server) Get(path string) (int, []byte, http.Header, error) {
	return s.Do(http.MethodGet, path, nil)
}

// Do performs a request with a 30 s deadline.
func (s *Server) Do(method, path string, body []byte) (int, []byte, http.Header, error) {
	return Do(method, "http://"+s.HTTPAddr()+path, body)
}

// Do performs a request to any URL through Client with a 30 s deadline and
// returns status, body and headers (benchmarks also drive other systems).
func Do(method, url string, body []byte) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}
