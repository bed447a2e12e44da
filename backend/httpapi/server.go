// Package httpapi is the local HTTP API: the Ollama dialect (/api/...) and
// the OpenAI dialect (/v1/...) over the shared runner, plus /metrics.
//
// It is safe by default: it listens on 127.0.0.1, answers only requests
// whose Host is a loopback name (so a web page cannot reach it through DNS
// rebinding), lets browsers in only from allowed origins, can require an API
// key, limits request bodies, and sets server timeouts. Every request is
// checked (JSON, types, ranges, model, prompt length) before it is queued
// or a model is loaded, and refused in its dialect's error format.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/service"
)

// Defaults of Config.
const (
	DefaultHost         = "127.0.0.1"
	DefaultMaxBody      = 4 << 20
	DefaultHeaderTime   = 10 * time.Second
	DefaultReadTime     = 60 * time.Second
	DefaultIdleTime     = 120 * time.Second
	DefaultWriteTimeout = 60 * time.Second
)

// Config configures a Server. Zero values take the defaults.
type Config struct {
	// Host is the address to listen on; "" = 127.0.0.1. Listening on a
	// non-loopback address is a deliberate choice: the Host header check
	// is then off, since clients use the machine's other names, and an
	// APIKey is required unless InsecureNoKey says otherwise.
	Host string
	// InsecureNoKey allows listening beyond loopback without an APIKey
	// (behind a gateway that authenticates, or on a trusted network).
	InsecureNoKey bool
	// AllowedHosts are Host header names (no port; "*.example.com" for a
	// domain's names) accepted besides the loopback names while listening
	// on loopback: those of a reverse proxy on this machine that passes
	// its own Host on.
	AllowedHosts []string
	// Port to listen on; 0 = any free port (see Server.Addr).
	Port int
	// APIKey, when set, must come with every request as
	// "Authorization: Bearer <key>" (the liveness endpoints excepted).
	APIKey string
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed
	// besides loopback and app origins; "*" allows every origin.
	AllowedOrigins []string
	// NoManage switches off the model-management endpoints (pull, delete,
	// copy).
	NoManage bool
	// MaxBodyBytes limits request bodies; 0 = 4 MiB.
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout (the whole request, body included),
	// IdleTimeout (between keep-alive requests) and WriteTimeout (each
	// write of a response; a stream may last longer as long as the client
	// reads) default to 10 s, 60 s, 120 s and 60 s.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout, WriteTimeout time.Duration
	// Logger receives one JSON line per request; the zero logger discards.
	Logger zerolog.Logger
}

func (c Config) withDefaults() Config {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBody
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultHeaderTime
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTime
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTime
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	return c
}

// ConfigFromSettings takes the API part of the user's settings.
func ConfigFromSettings(s config.Settings) Config {
	return Config{Port: s.API.Port, APIKey: s.API.APIKey, AllowedOrigins: s.API.AllowedOrigins}
}

// Server is the API server. Create it with New, then Start it; Shutdown
// stops it. The desktop app and `ir serve` use the same one.
type Server struct {
	cfg     Config
	svc     *service.Service
	runner  *service.Runner
	handler http.Handler
	metrics *metrics
	log     zerolog.Logger

	mu      sync.Mutex
	srv     *http.Server
	ln      net.Listener
	started time.Time
	done    chan struct{}
	err     error
}

// New builds a server over a service (library, store) and a runner
// (generation). svc may be nil in tests that need no model management.
func New(cfg Config, svc *service.Service, runner *service.Runner) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("api port %d is not between 0 and 65535", cfg.Port)
	}
	if runner == nil {
		return nil, errors.New("httpapi: a runner is required")
	}
	for _, o := range cfg.AllowedOrigins {
		if o != "*" && !validOrigin(o) {
			return nil, fmt.Errorf("allowed origin %q is not of the form scheme://host[:port]", o)
		}
	}
	for _, h := range cfg.AllowedHosts {
		if !validHostName(h) {
			return nil, fmt.Errorf("allowed host %q is not a host name (no scheme, port or path; *.domain for a domain)", h)
		}
	}
	if !isLoopbackHost(cfg.Host) && cfg.APIKey == "" && !cfg.InsecureNoKey {
		return nil, fmt.Errorf("listening on %s opens the API beyond this machine: set an API key (--api-key or $IR_API_KEY), or accept anyone who can reach it with --insecure-no-key", cfg.Host)
	}
	s := &Server{cfg: cfg, svc: svc, runner: runner, metrics: newMetrics(), log: cfg.Logger}
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's whole handler chain (security checks included),
// for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens and serves in the background. It returns once the socket
// is bound, so a port in use is reported here.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("httpapi: server already started")
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// The *net.OpError names the address too; say it once.
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err
		}
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// No WriteTimeout: it would cut long streams. Each write sets its
		// own deadline instead (see responseWriter).
	}
	s.ln, s.started, s.done, s.err = ln, time.Now(), make(chan struct{}), nil
	srv, done := s.srv, s.done
	go func() {
		err := srv.Serve(ln)
		s.mu.Lock()
		if !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
		s.mu.Unlock()
		close(done)
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("api listening")
	return nil
}

// Addr is the address the server listens on ("" when stopped).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// URL is the server's base URL ("" when stopped).
func (s *Server) URL() string {
	if a := s.Addr(); a != "" {
		return "http://" + a
	}
	return ""
}

// Status says whether the server runs and where.
type Status struct {
	Running bool      `json:"running"`
	Addr    string    `json:"addr,omitempty"`
	URL     string    `json:"url,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Error   string    `json:"error,omitempty"` // why it stopped, when it failed
}

// Status reports the server's state, for the desktop app's settings.
func (s *Server) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{}
	if s.err != nil {
		st.Error = s.err.Error()
	}
	if s.ln != nil {
		st.Running, st.Addr, st.Since = true, s.ln.Addr().String(), s.started
		st.URL = "http://" + st.Addr
	}
	return st
}

// Shutdown stops accepting requests and waits for the running ones (streams
// included) until ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-done
	s.mu.Lock()
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	return err
}

// Wait blocks until the server stops and returns why, when it failed.
func (s *Server) Wait() error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// routes builds the handler chain: recovery and logging outermost, then
// the Host, Origin and key checks, then the endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Liveness.
	mux.HandleFunc("GET /{$}", s.handleRoot)
	mux.HandleFunc("HEAD /{$}", s.handleRoot)
	mux.HandleFunc("GET /api/health", s.handleHealth)
	mux.HandleFunc("HEAD /api/health", s.handleHealth)
	mux.HandleFunc("GET /api/version", s.handleVersion)
	mux.HandleFunc("GET /metrics", s.handleMetrics)

	// Ollama.
	mux.HandleFunc("POST /api/generate", s.handleOllamaGenerate)
	mux.HandleFunc("POST /api/chat", s.handleOllamaChat)
	mux.HandleFunc("POST /api/embed", s.handleOllamaEmbed)
	mux.HandleFunc("POST /api/embeddings", s.handleOllamaEmbeddings)
	mux.HandleFunc("GET /api/tags", s.handleOllamaTags)
	mux.HandleFunc("POST /api/show", s.handleOllamaShow)
	mux.HandleFunc("GET /api/ps", s.handleOllamaPs)
	mux.HandleFunc("POST /api/copy", s.manage(s.handleOllamaCopy))
	mux.HandleFunc("DELETE /api/delete", s.manage(s.handleOllamaDelete))
	mux.HandleFunc("POST /api/pull", s.manage(s.handleOllamaPull))
	mux.HandleFunc("POST /api/create", s.manage(s.handleOllamaCreate))
	mux.HandleFunc("HEAD /api/blobs/{digest}", s.manage(s.handleBlob))
	mux.HandleFunc("POST /api/blobs/{digest}", s.manage(s.handleBlob))

	// llama-server's adapter scales.
	mux.HandleFunc("GET /lora-adapters", s.handleLoraList)
	mux.HandleFunc("POST /lora-adapters", s.handleLoraSet)

	// OpenAI.
	mux.HandleFunc("POST /v1/chat/completions", s.handleOpenAIChat)
	mux.HandleFunc("POST /v1/completions", s.handleOpenAICompletion)
	mux.HandleFunc("POST /v1/embeddings", s.handleOpenAIEmbeddings)
	mux.HandleFunc("GET /v1/models", s.handleOpenAIModels)
	mux.HandleFunc("GET /v1/models/{model...}", s.handleOpenAIModel)

	// Everything else: 404/405 in the dialect's format.
	mux.HandleFunc("/", s.handleNotFound)

	var h http.Handler = mux
	h = s.checkKey(h)
	h = s.checkOrigin(h)
	h = s.checkHost(h)
	h = s.limitBody(h)
	h = s.observe(h)
	return h
}

// manage guards a model-management endpoint.
func (s *Server) manage(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.NoManage {
			writeError(w, r, http.StatusForbidden, "model management (pull, delete, copy) is switched off on this server")
			return
		}
		if s.svc == nil {
			writeError(w, r, http.StatusNotImplemented, "model management is not available on this server")
			return
		}
		h(w, r)
	}
}
