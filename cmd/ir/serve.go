package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"inferenceruntime/backend/buildinfo"
	"inferenceruntime/backend/config"
	"inferenceruntime/backend/httpapi"
	"inferenceruntime/backend/logging"
	"inferenceruntime/backend/service"
)

var (
	serveHost, serveAPIKey                 string
	servePort, serveParallel, serveQueue   int
	serveMaxLoaded, serveThreads, serveCtx int
	serveOrigins, serveLoras               []string
	serveNoManage, serveQuiet              bool
	serveInsecureNoKey                     bool
	serveAllowHosts                        []string
	serveKeepAlive, serveHeaderTimeout     time.Duration
	serveMemoryLimitMiB                    int64
)

var serveCmd = &cobra.Command{
	Use:   "serve",
	Short: "Serve the Ollama- and OpenAI-compatible HTTP API",
	Long: "Serve the installed models over HTTP: the Ollama API (/api/...) and the OpenAI API (/v1/...).\n" +
		"By default it listens on 127.0.0.1 only, answers only to loopback Host names, lets browsers in\n" +
		"only from loopback and app origins, and takes defaults from the settings (port, API key, origins).\n" +
		"The API key can also come from $IR_API_KEY. Request logs are JSON lines in logs/ir.log of the data\n" +
		"directory (rotated at 10 MB) and, unless --quiet, on stderr.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, args []string) error {
		svc, err := service.Open(cmd.Context(), service.Options{Home: homeFlag})
		if err != nil {
			return err
		}
		defer svc.Close()
		settings, err := config.LoadSettings(svc.Dir)
		if err != nil {
			return err
		}
		cfg := httpapi.ConfigFromSettings(settings)
		f := cmd.Flags()
		cfg.Host = serveHost
		if v := os.Getenv(envHost); v != "" && !f.Changed("host") {
			host, port, err := parseListenAddr(v)
			if err != nil {
				return err
			}
			cfg.Host = host
			if port >= 0 {
				cfg.Port = port
			}
		}
		if f.Changed("port") {
			cfg.Port = servePort
		}
		cfg.InsecureNoKey = serveInsecureNoKey
		cfg.AllowedHosts = serveAllowHosts
		if key := os.Getenv("IR_API_KEY"); key != "" {
			cfg.APIKey = key
		}
		if f.Changed("api-key") {
			cfg.APIKey = serveAPIKey
		}
		if f.Changed("origins") {
			cfg.AllowedOrigins = serveOrigins
		}
		cfg.NoManage = serveNoManage
		cfg.ReadHeaderTimeout = serveHeaderTimeout
		logOpts := logging.Options{Dir: config.LogsPath(svc.Dir), Name: "ir", Level: zerolog.InfoLevel}
		if !serveQuiet {
			logOpts.Mirror = os.Stderr
		}
		log, closeLog, err := logging.New(logOpts)
		if err != nil {
			return err
		}
		defer closeLog.Close()
		info := buildinfo.Get()
		log.Info().Str("version", info.Version).Str("commit", info.Commit).Str("dataDir", svc.Dir).Msg("serve starting")
		cfg.Logger = log

		opts := service.RunnerOptions{
			Threads: settings.Threads, ContextLength: settings.ContextLength,
			Parallel: serveParallel, Queue: serveQueue, KeepAlive: serveKeepAlive,
			MaxLoaded: serveMaxLoaded, MemoryLimit: serveMemoryLimitMiB << 20, Draft: serveDraft,
		}
		opts.Backend = chooseBackend(settings.Backend)
		if opts.GPULayers, err = chooseGPULayers(); err != nil {
			return err
		}
		if f.Changed("threads") {
			opts.Threads = serveThreads
		}
		if opts.Parallel == 0 {
			opts.Parallel = settings.Parallel
		}
		if opts.Parallel == 0 {
			opts.Parallel = max(2, service.AutoParallel())
		}
		if f.Changed("ctx") {
			opts.ContextLength = serveCtx
		}
		if opts.KVType, err = chooseKVType(settings); err != nil {
			return err
		}
		opts.NoMmap, opts.Mlock = noMmapFlag, mlockFlag
		if f.Changed("queue") && serveQueue == 0 {
			opts.Queue = -1 // no waiting at all
		}
		if serveMemoryLimitMiB < 0 {
			opts.MemoryLimit = -1
		}
		runner := svc.NewRunner(false, opts)
		defer runner.Close()
		if err := loraSet(runner, serveLoras); err != nil {
			return err
		}
		if err := serveDraftCheck(cmd.Context(), runner); err != nil {
			return err
		}

		srv, err := httpapi.New(cfg, svc, runner)
		if err != nil {
			return err
		}
		// Signals are caught before "listening" is printed: a client that
		// stops the server as soon as it reads the line gets a clean shutdown.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := srv.Start(); err != nil {
			return err
		}
		eff := runner.Options()
		fmt.Printf("listening on %s (parallel %d, queue %d per model)\n", srv.URL(), eff.Parallel, eff.Queue)

		failed := make(chan error, 1)
		go func() { failed <- srv.Wait() }()
		select {
		case <-ctx.Done():
		case err := <-failed:
			if err != nil {
				return fmt.Errorf("server stopped: %w", err)
			}
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	},
}

func init() {
	f := serveCmd.Flags()
	f.StringVar(&serveHost, "host", httpapi.DefaultHost, "address to listen on, else $IR_HOST (HOST or HOST:PORT); a non-loopback address exposes the API to the network and needs an API key")
	f.BoolVar(&serveInsecureNoKey, "insecure-no-key", false, "listen beyond loopback without an API key: anyone who reaches the port may use it")
	f.StringSliceVar(&serveAllowHosts, "allow-host", nil, "Host header names accepted besides localhost while listening on loopback, e.g. a reverse proxy's (comma-separated; *.domain for a domain)")
	f.IntVar(&servePort, "port", config.DefaultAPIPort, "port to listen on (0: any free port; default from settings)")
	f.StringVar(&serveAPIKey, "api-key", "", "require this key as 'Authorization: Bearer KEY' (default from settings or $IR_API_KEY)")
	f.StringSliceVar(&serveOrigins, "origins", nil, "browser origins allowed besides loopback and app origins (comma-separated; default from settings)")
	f.BoolVar(&serveNoManage, "no-manage", false, "switch off the model-management endpoints (pull, delete, copy)")
	f.IntVar(&serveParallel, "parallel", 0, "generations run at once per model, decoded together in one batch per step (default: settings, else from free memory, at least 2)")
	f.IntVar(&serveQueue, "queue", 0, "requests per model that may wait for a slot before new ones are refused (default 4×parallel)")
	f.IntVar(&serveMaxLoaded, "max-loaded", 0, "models kept loaded at once (default 3)")
	f.IntVar(&serveThreads, "threads", 0, "CPU threads per model, shared by its batched generations (default: settings, else all cores)")
	f.IntVar(&serveCtx, "ctx", 0, "default context length in tokens (default: settings)")
	f.DurationVar(&serveKeepAlive, "keep-alive", service.DefaultKeepAlive, "how long an idle model stays loaded (negative: forever)")
	f.Int64Var(&serveMemoryLimitMiB, "memory-limit", 0, "MiB loaded models may take (0: 80% of free memory; negative: no limit)")
	f.DurationVar(&serveHeaderTimeout, "header-timeout", httpapi.DefaultHeaderTime, "time a client has to send its request headers")
	f.BoolVar(&serveQuiet, "quiet", false, "no request log on stderr (logs/ir.log still gets it)")
	f.StringArrayVar(&serveLoras, "lora", nil, "offer the LoRA adapter FILE[:SCALE] to every model it fits (repeatable; see GET /lora-adapters)")
	rootCmd.AddCommand(serveCmd)
}
