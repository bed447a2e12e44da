package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/service"
)

var (
	embedPooling    string
	embedDimensions int
	embedTruncate   bool
	embedJSON       bool
)

var embedCmd = &cobra.Command{
	Use:   "embed MODEL TEXT...",
	Short: "Print the embedding of each TEXT (L2-normalised), one line of numbers per text",
	Long: "Print the embedding of each TEXT: an encoder (bert) pools as its file says, a decoder averages\n" +
		"its final hidden states unless --pooling says otherwise. With --pooling none each token gets a line.",
	Args: cobra.MinimumNArgs(2),
	RunE: runEmbed,
}

func init() {
	embedCmd.Flags().StringVar(&embedPooling, "pooling", "", "none, mean, cls or last (default: the model's)")
	embedCmd.Flags().IntVar(&embedDimensions, "dimensions", 0, "keep the first N components (then normalise)")
	embedCmd.Flags().BoolVar(&embedTruncate, "truncate", false, "cut texts longer than the context instead of failing")
	embedCmd.Flags().BoolVar(&embedJSON, "json", false, "print a JSON array of vectors per text")
	embedCmd.Flags().IntVar(&runThreads, "threads", 0, "CPU threads (default: the settings')")
	embedCmd.Flags().IntVar(&runCtx, "ctx", 0, "context length: the most tokens per text (default: the settings')")
	rootCmd.AddCommand(embedCmd)
}

func runEmbed(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	svc, err := listService(cmd, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	m, err := runResolve(ctx, svc, args[0], true)
	if err != nil {
		return err
	}
	settings, err := config.LoadSettings(svc.Dir)
	if err != nil {
		return err
	}
	runner := runNewRunner(m, settings)
	defer runner.Close()
	res, err := runner.Embed(ctx, service.EmbedRequest{Model: m.Name, Texts: args[1:], Pooling: embedPooling,
		Dimensions: embedDimensions, Truncate: embedTruncate})
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	out := cmd.OutOrStdout()
	for _, in := range res.Inputs {
		if embedJSON {
			b, err := json.Marshal(in.Vectors)
			if err != nil {
				return fmt.Errorf("embed: %w", err)
			}
			fmt.Fprintln(out, string(b))
			continue
		}
		for _, v := range in.Vectors {
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = strconv.FormatFloat(float64(x), 'g', 9, 32)
			}
			fmt.Fprintln(out, strings.Join(parts, " "))
		}
	}
	return nil
}
