package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// isLoopbackHost reports whether a host name (no port) is a loopback name:
// localhost (and *.localhost), 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// hostOnly strips the port from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// validHostName reports whether h can be an AllowedHosts entry: a name or
// address without scheme, port or path, or "*." and a domain.
func validHostName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	return h != "" && !strings.ContainsAny(h, "/:@?#[] *")
}

// hostAllowed reports whether a Host header's name (no port) is one of
// the allowed hosts.
func (s *Server) hostAllowed(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range s.cfg.AllowedHosts {
		h = strings.Trim(strings.ToLower(h), "[]")
		if domain, ok := strings.CutPrefix(h, "*."); ok {
			if strings.HasSuffix(host, "."+domain) {
				return true
			}
		} else if host == h {
			return true
		}
	}
	return false
}

// checkHost refuses requests whose Host is not a loopback name (or an
// allowed host) while the server listens on loopback: a page on
// evil.example whose name was rebound to 127.0.0.1 sends
// "Host: evil.example".
func (s *Server) checkHost(next http.Handler) http.Handler {
	if !isLoopbackHost(s.cfg.Host) {
		return next // listening elsewhere on purpose: clients use other names
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := hostOnly(r.Host); !isLoopbackHost(h) && !s.hostAllowed(h) {
			writeError(w, r, http.StatusForbidden, "host "+strconvQuote(r.Host)+" is not allowed: this server answers only to localhost, 127.0.0.1 and [::1] (and the names given with --allow-host)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validOrigin reports whether o has the form scheme://host[:port].
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && u.Scheme != "" && u.Host != "" && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.User == nil
}

// appSchemes are the origins of desktop shells that embed a web view
// (Wails, Tauri, Electron apps with a custom scheme).
var appSchemes = []string{"wails", "tauri", "app"}

// originAllowed decides whether a browser request from origin may call the
// API: the allow-list, pages served from loopback (any port), desktop app
// origins, and the same origin as the request.
func (s *Server) originAllowed(origin string, r *http.Request) bool {
	if slices.Contains(s.cfg.AllowedOrigins, "*") {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" (sandboxed frames, file://) and junk
	}
	switch {
	case slices.Contains(appSchemes, u.Scheme):
		return true
	case (u.Scheme == "http" || u.Scheme == "https") && isLoopbackHost(u.Hostname()):
		return true
	case strings.EqualFold(u.Host, r.Host):
		return true // same origin
	}
	return false
}

// checkOrigin applies CORS: a request with an Origin header from an origin
// that is not allowed is refused (the browser would hide the answer, but the
// request itself could still cause effects); allowed ones get their origin
// echoed, never "*". Preflights are answered here.
func (s *Server) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !s.originAllowed(origin, r) {
			writeError(w, r, http.StatusForbidden, "origin "+strconvQuote(origin)+" is not allowed; add it to the API's allowed origins")
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Content-Type")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, OpenAI-Organization, OpenAI-Project, X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-OS, X-Stainless-Arch, X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Retry-Count, X-Stainless-Timeout, User-Agent")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// open paths answer without the API key: liveness and the version (what a
// load balancer's health check asks), nothing about the models.
var openPaths = []string{"/", "/api/health", "/api/version"}

// checkKey requires "Authorization: Bearer <key>" when a key is set. The
// comparison is of SHA-256 digests in constant time, so neither the key's
// bytes nor its length leak through timing.
func (s *Server) checkKey(next http.Handler) http.Handler {
	if s.cfg.APIKey == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.cfg.APIKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(openPaths, r.URL.Path) || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		auth := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(auth, " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="inference-runtime"`)
			msg := "a valid API key is required (Authorization: Bearer <key>)"
			if auth == "" {
				msg = "missing API key: send Authorization: Bearer <key>"
			}
			writeError(w, r, http.StatusUnauthorized, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies declared larger than the limit at once, and
// caps the rest while they are read (decode reports 413).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/blobs/") {
			// Blob uploads are model and adapter files, checked by digest.
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			writeError(w, r, http.StatusRequestEntityTooLarge, bodyTooLarge(s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func strconvQuote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			b = append(b, '?')
			continue
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}
