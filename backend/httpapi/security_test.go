package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHostCheck(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"localhost", true}, {"localhost:11435", true}, {"127.0.0.1:8080", true}, {"127.1.2.3", true},
		{"[::1]:11435", true}, {"app.localhost:1234", true}, {"LOCALHOST", true},
		{"evil.example", false}, {"evil.example:11435", false}, {"192.168.1.10:11435", false},
		{"localhost.evil.example", false}, {"127.0.0.1.evil.example", false},
	} {
		for _, path := range []string{"/api/tags", "/v1/models"} {
			r := e.do("GET", path, nil, "Host", c.host)
			if c.ok && r.status != 200 || !c.ok && r.status != http.StatusForbidden {
				t.Errorf("Host %q %s: status %d", c.host, path, r.status)
			}
			if !c.ok && !strings.Contains(errorMessage(t, r), "host") {
				t.Errorf("Host %q: message %s", c.host, r.body)
			}
		}
	}
}

func TestHostCheckOffWhenBoundElsewhere(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A server configured for all interfaces, served here on loopback only
	// (tests never listen beyond it): the Host header is now free.
	srv, err := New(Config{Host: "0.0.0.0", InsecureNoKey: true}, e.svc, e.runner)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	e.url = ts.URL
	if r := e.do("GET", "/api/tags", nil, "Host", "myserver.lan:11435"); r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
}

// TestBusyPort: a port another program holds is one clear error that names
// the address once, and still matches EADDRINUSE.
func TestBusyPort(t *testing.T) {
	e := newEnv(t, envOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	srv, err := New(Config{Port: port}, e.svc, e.runner)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Start()
	addr := ln.Addr().String()
	if err == nil || strings.Count(err.Error(), addr) != 1 || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a busy port: %v; want %s named once and EADDRINUSE", err, addr)
	}
}

func TestOriginCheck(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{AllowedOrigins: []string{"https://chat.example.com"}}})
	for _, c := range []struct {
		origin string
		ok     bool
	}{
		{"http://localhost:5173", true}, {"http://127.0.0.1:3000", true}, {"https://localhost", true},
		{"wails://wails", true}, {"https://chat.example.com", true},
		{"https://evil.example", false}, {"null", false}, {"http://localhost.evil.example", false},
		{"https://chat.example.com.evil.example", false}, {"file://", false},
	} {
		r := e.do("POST", "/api/show", map[string]any{"model": "tiny"}, "Origin", c.origin)
		acao := r.header.Get("Access-Control-Allow-Origin")
		if c.ok && (r.status != 200 || acao != c.origin) {
			t.Errorf("origin %q: status %d, allow-origin %q", c.origin, r.status, acao)
		}
		if !c.ok && (r.status != http.StatusForbidden || acao != "") {
			t.Errorf("origin %q: status %d, allow-origin %q; want 403 and none", c.origin, r.status, acao)
		}
	}
	// Preflight from an allowed origin; and from a foreign one.
	r := e.do("OPTIONS", "/v1/chat/completions", nil, "Origin", "http://localhost:5173",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	r = e.do("OPTIONS", "/v1/chat/completions", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", r.status, r.header)
	}
	// No Origin (curl, SDKs): no CORS headers at all, and never "*".
	r = e.do("GET", "/api/tags", nil)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origin: %d %v", r.status, r.header)
	}
}

func TestAPIKey(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{APIKey: "s3cret-key"}})
	gen := map[string]any{"model": "tiny", "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 2}}
	for _, c := range []struct {
		auth   string
		status int
	}{
		{"", 401}, {"Bearer wrong", 401}, {"Bearer s3cret-ke", 401}, {"Bearer s3cret-key2", 401},
		{"Basic czNjcmV0LWtleQ==", 401}, {"s3cret-key", 401}, {"Bearer s3cret-key", 200}, {"bearer s3cret-key", 200},
	} {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		if r := e.do("POST", "/api/generate", gen, hdr...); r.status != c.status {
			t.Errorf("Authorization %q: /api/generate %d, want %d", c.auth, r.status, c.status)
		}
		r := e.do("GET", "/v1/models", nil, hdr...)
		if r.status != c.status {
			t.Errorf("Authorization %q: /v1/models %d, want %d", c.auth, r.status, c.status)
		}
		if r.status == 401 && r.json(t)["error"].(map[string]any)["type"] != "authentication_error" {
			t.Errorf("OpenAI 401 body %s", r.body)
		}
	}
	// Liveness stays open; metrics do not.
	if r := e.do("GET", "/api/health", nil); r.status != 200 {
		t.Fatalf("health without key: %d", r.status)
	}
	if r := e.do("GET", "/metrics", nil); r.status != 401 {
		t.Fatalf("metrics without key: %d", r.status)
	}
	// A preflight carries no key and must pass.
	r := e.do("OPTIONS", "/api/chat", nil, "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST")
	if r.status != http.StatusNoContent {
		t.Fatalf("preflight with a key set: %d", r.status)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{MaxBodyBytes: 64 << 10}})
	big := `{"model":"tiny","prompt":"` + strings.Repeat("a", 100<<10) + `"}`
	// Declared length over the limit.
	if r := e.do("POST", "/api/generate", big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared oversized body: %d %s", r.status, r.body)
	}
	// Chunked, so the length is only found while reading.
	req, err := http.NewRequest("POST", e.url+"/v1/completions", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(body, []byte("limit")) {
		t.Fatalf("chunked oversized body: %d %s", res.StatusCode, body)
	}
	if r := e.do("POST", "/api/generate", map[string]any{"model": "tiny", "prompt": "a", "stream": false, "options": map[string]any{"num_predict": 1}}); r.status != 200 {
		t.Fatalf("small body after the big ones: %d", r.status)
	}
}

// TestSlowHeaders: a client that trickles its headers (Slowloris) is cut
// off by ReadHeaderTimeout, while a normal client is served meanwhile.
func TestSlowHeaders(t *testing.T) {
	e := newEnv(t, envOptions{cfg: Config{ReadHeaderTimeout: 300 * time.Millisecond}})
	conn, err := net.Dial("tcp", e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/tags HTTP/1.1\r\nHost: localhost\r\n")
	closed := make(chan error, 1)
	go func() {
		// Keep trickling one header byte at a time, as Slowloris does.
		for i := 0; i < 200; i++ {
			if _, err := conn.Write([]byte("X")); err != nil {
				closed <- err
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		closed <- nil
	}()
	if r := e.do("GET", "/api/health", nil); r.status != 200 {
		t.Fatalf("health while a slow client holds a connection: %d", r.status)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	rd := bufio.NewReader(conn)
	var got []byte
	for {
		b, err := rd.ReadByte()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept the slow connection open")
			}
			break // closed by the server
		}
		got = append(got, b)
	}
	if bytes.Contains(got, []byte("200 OK")) {
		t.Fatalf("the slow request was served: %q", got)
	}
}

// TestAllowedHosts: behind a reverse proxy on this machine that passes its
// own Host on, the names given are accepted too, and only those.
func TestAllowedHosts(t *testing.T) {
	e := newEnv(t, envOptions{})
	srv, err := New(Config{AllowedHosts: []string{"ir.example.com", "*.lan", "[fd00::1]"}}, e.svc, e.runner)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	e.url = ts.URL
	for host, ok := range map[string]bool{
		"ir.example.com": true, "IR.example.com:443": true, "ir.example.com.": true, "box.lan": true,
		"a.b.lan:8080": true, "[fd00::1]:80": true, "localhost": true,
		"lan": false, "example.com": false, "evil.ir.example.com": false, "box.lan.evil": false,
	} {
		r := e.do("GET", "/api/tags", nil, "Host", host)
		if ok && r.status != 200 || !ok && r.status != http.StatusForbidden {
			t.Errorf("Host %q: status %d", host, r.status)
		}
	}
	for _, bad := range []string{"http://x", "x:80", "x/y", "", "*"} {
		if _, err := New(Config{AllowedHosts: []string{bad}}, e.svc, e.runner); err == nil {
			t.Errorf("allowed host %q accepted", bad)
		}
	}
}

// TestOpenAddressNeedsKey: listening beyond loopback without an API key is
// refused unless InsecureNoKey says so; the version (a load balancer's
// health check) answers without the key.
func TestOpenAddressNeedsKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, host := range []string{"0.0.0.0", "::", "192.168.1.10"} {
		_, err := New(Config{Host: host}, e.svc, e.runner)
		if err == nil || !strings.Contains(err.Error(), "--insecure-no-key") || !strings.Contains(err.Error(), "API key") {
			t.Errorf("host %s without a key: %v", host, err)
		}
		if _, err := New(Config{Host: host, APIKey: "k"}, e.svc, e.runner); err != nil {
			t.Errorf("host %s with a key: %v", host, err)
		}
		if _, err := New(Config{Host: host, InsecureNoKey: true}, e.svc, e.runner); err != nil {
			t.Errorf("host %s, insecure: %v", host, err)
		}
	}
	if _, err := New(Config{Host: "127.0.0.1"}, e.svc, e.runner); err != nil {
		t.Errorf("loopback without a key: %v", err)
	}
	srv, err := New(Config{Host: "0.0.0.0", APIKey: "k"}, e.svc, e.runner)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	e.url = ts.URL
	if r := e.do("GET", "/api/version", nil); r.status != 200 || r.json(t)["version"] == "" {
		t.Errorf("version without the key: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/tags", nil); r.status != 401 {
		t.Errorf("tags without the key: %d", r.status)
	}
}
