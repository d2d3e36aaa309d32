package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The watchdog writes from its own goroutine before it calls exit; the
// tests read the buffer only after exit was received, or when it never
// ran, so a plain buffer is safe.

func TestLeaveWatchdogDumpsStacksAndExitsWhenLeaveIsStuck(t *testing.T) {
	var out bytes.Buffer
	exited := make(chan int, 1)
	logger := hclog.New(&hclog.LoggerOptions{Output: &out})
	stop := startLeaveWatchdog(20*time.Millisecond, logger, &out, func(code int) { exited <- code })
	defer stop()
	select {
	case code := <-exited:
		if code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stuck leave did not end the process")
	}
	got := out.String()
	if !strings.Contains(got, "leave did not finish in time") || !strings.Contains(got, "goroutine ") ||
		!strings.Contains(got, "TestLeaveWatchdogDumpsStacksAndExitsWhenLeaveIsStuck") {
		t.Fatalf("no log line and goroutine stacks before exiting:\n%.2000s", got)
	}
}

func TestLeaveWatchdogStaysQuietWhenLeaveFinishes(t *testing.T) {
	var out bytes.Buffer
	exited := make(chan int, 1)
	stop := startLeaveWatchdog(50*time.Millisecond, hclog.New(&hclog.LoggerOptions{Output: &out}), &out, func(code int) { exited <- code })
	stop() // the leave finished
	select {
	case code := <-exited:
		t.Fatalf("watchdog exited (%d) after the leave finished", code)
	case <-time.After(300 * time.Millisecond):
	}
	if out.String() != "" {
		t.Fatalf("watchdog wrote %q", out.String())
	}
}
