package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/events"
	"inferenceruntime/backend/modelstore"
	"inferenceruntime/backend/service"
)

var (
	pullResume bool
	pullCtx    int64
)

var pullCmd = &cobra.Command{
	Use:   "pull NAME | ORG/REPO[:QUANT] | ORG/REPO/FILE.gguf",
	Short: "Download a model from the store (resumable, verified) into the library",
	Long: `Pull downloads a model: a name from the catalog (see ir store), optionally
with a :QUANT tag, or any Hugging Face repository with a :QUANT tag or a file
path. Downloads resume where they stopped (run the same pull again) and are
checked against their SHA-256 before they join the library.

The store is https://huggingface.co unless IR_STORE_URL names another.`,
	Args: func(cmd *cobra.Command, args []string) error {
		if pullResume {
			return cobra.NoArgs(cmd, args)
		}
		return cobra.ExactArgs(1)(cmd, args)
	},
	RunE: func(cmd *cobra.Command, args []string) error {
		if pullCtx < 0 {
			return fmt.Errorf("--ctx %d is negative", pullCtx)
		}
		// Ctrl-C stops the download; the same pull later continues it.
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		bar := events.NewBar(cmd.ErrOrStderr())
		svc, err := listService(cmd, &cliProgress{bar: bar})
		if err != nil {
			return err
		}
		defer svc.Close()
		defer bar.Finish()
		if pullResume {
			return pullResumeAll(ctx, cmd, svc)
		}
		t, err := svc.ResolvePull(ctx, args[0])
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		size := "size unknown"
		if t.Size > 0 {
			size = events.FormatBytes(t.Size)
			if !t.SizeExact {
				size = "~" + size
			}
		}
		fmt.Fprintf(out, "pulling %s (%s) from %s\n", t.Name, size, t.URL)
		fitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		if fit, err := svc.PullFit(fitCtx, t, pullCtx); err == nil {
			fmt.Fprintf(out, "fit: %s\n", fit)
		}
		cancel()
		res, err := svc.Pull(ctx, args[0])
		if err != nil {
			return err
		}
		if res.Model != nil {
			fmt.Fprintf(out, "%s is already in the library (%s)\n", res.Model.Name, res.Model.ID[:8])
			return nil
		}
		return pullWait(ctx, cmd, svc, res.Download)
	},
}

func init() {
	pullCmd.Flags().BoolVar(&pullResume, "resume", false, "continue every unfinished download")
	pullCmd.Flags().Int64Var(&pullCtx, "ctx", 0, "context length for the fit estimate (default: the setting)")
	rootCmd.AddCommand(pullCmd)
}

// pullWait waits for a download and reports how it ended.
func pullWait(ctx context.Context, cmd *cobra.Command, svc *service.Service, d modelstore.Download) error {
	out := cmd.OutOrStdout()
	id, name := d.ID, d.Name
	d, err := svc.WaitDownload(ctx, id)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("pull %s: interrupted; %s", name, pullKept(svc, id, 0))
	}
	if err != nil {
		return fmt.Errorf("pull %s: %w; %s", name, err, pullKept(svc, id, d.Done))
	}
	if d.State != modelstore.StateDone {
		return fmt.Errorf("pull %s: download %s", name, d.State)
	}
	m, err := svc.Library.Get(ctx, d.ModelID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "pulled %s (%s), sha256 %s\n", m.Name, m.ID[:8], m.Digest)
	if !d.Verified {
		fmt.Fprintln(out, "note: the store published no SHA-256 for this file, so it could not be verified")
	}
	return nil
}

// pullKept says what a stopped download leaves for the next pull; done is
// how far it had got.
func pullKept(svc *service.Service, id string, done int64) string {
	held := svc.Downloads.Held(id)
	switch {
	case held > 0:
		return events.FormatBytes(held) + " kept; run the same pull again to continue"
	case done > 0:
		return "nothing kept"
	}
	return "nothing downloaded"
}

// pullResumeAll continues every unfinished download, one after another as
// the manager's limit allows, and waits for all.
func pullResumeAll(ctx context.Context, cmd *cobra.Command, svc *service.Service) error {
	ds, err := svc.ListDownloads(ctx)
	if err != nil {
		return err
	}
	var started []modelstore.Download
	for _, d := range ds {
		switch d.State {
		case modelstore.StateQueued, modelstore.StateRunning, modelstore.StatePaused, modelstore.StateFailed:
			r, err := svc.ResumeDownload(ctx, d.ID)
			if err != nil {
				return err
			}
			started = append(started, r)
		}
	}
	if len(started) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "no unfinished downloads")
		return nil
	}
	var errs []error
	for _, d := range started {
		errs = append(errs, pullWait(ctx, cmd, svc, d))
	}
	return errors.Join(errs...)
}
