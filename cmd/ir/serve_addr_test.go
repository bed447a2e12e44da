package main

import (
	"strings"
	"testing"
)

func TestParseListenAddr(t *testing.T) {
	for _, c := range []struct {
		in   string
		host string
		port int
		bad  bool
	}{
		{in: "0.0.0.0:11435", host: "0.0.0.0", port: 11435},
		{in: "0.0.0.0", host: "0.0.0.0", port: -1},
		{in: ":8080", host: "0.0.0.0", port: 8080},
		{in: "[::]:11435", host: "::", port: 11435},
		{in: "::", host: "::", port: -1},
		{in: " localhost:0 ", host: "localhost", port: 0},
		{in: "ir.lan", host: "ir.lan", port: -1},
		{in: "", bad: true}, {in: "0.0.0.0:http", bad: true}, {in: "0.0.0.0:70000", bad: true},
		{in: "http://0.0.0.0", bad: true}, {in: "[::1", bad: true},
	} {
		host, port, err := parseListenAddr(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q: accepted as %q %d", c.in, host, port)
			}
			continue
		}
		if err != nil || host != c.host || port != c.port {
			t.Errorf("%q: %q %d %v, want %q %d", c.in, host, port, err, c.host, c.port)
		}
	}
}

// TestServeOpenAddressNeedsKey: IR_HOST beyond loopback without a key ends
// `ir serve` before it listens, naming both ways out; a bad IR_HOST is an
// error too.
func TestServeOpenAddressNeedsKey(t *testing.T) {
	t.Setenv("IR_API_KEY", "")
	t.Setenv(envHost, "0.0.0.0:0")
	stderr, code := runIR(t, "--home", t.TempDir(), "serve", "--quiet")
	if code != 1 || !strings.Contains(stderr, "--insecure-no-key") || !strings.Contains(stderr, "--api-key") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	t.Setenv(envHost, "http://0.0.0.0")
	stderr, code = runIR(t, "--home", t.TempDir(), "serve", "--quiet")
	if code != 1 || !strings.Contains(stderr, "IR_HOST") {
		t.Errorf("bad IR_HOST: exit %d, stderr %q", code, stderr)
	}
}
