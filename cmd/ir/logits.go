package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/inference"
)

var (
	logitsPrompt  string
	logitsIDs     string
	logitsOut     string
	logitsThreads int
)

var logitsCmd = &cobra.Command{
	Use:   "logits MODEL (--prompt TEXT [--image FILE... [--mmproj FILE] [--append-ids 1,2,3]] | --ids 1,2,3) --out FILE",
	Short: "Evaluate tokens as one batch and write every position's logits",
	Long: "Evaluate a prompt (with BOS as the vocabulary says) or exact token ids as one batch and write the\n" +
		"logits as little-endian float32, one row of n_vocab per position. MODEL is a GGUF file or an installed\n" +
		"model (name, alias, id or id prefix; see \"ir list\"); a file of that path wins.",
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		// An empty --prompt is a prompt (BOS alone), so the flags are
		// told apart by whether they were given.
		withPrompt := cmd.Flags().Changed("prompt")
		if len(logitsImages) > 0 && !withPrompt {
			return fmt.Errorf("--image needs --prompt (with --append-ids for teacher forcing)")
		}
		if withPrompt == cmd.Flags().Changed("ids") {
			return fmt.Errorf("give exactly one of --prompt and --ids")
		}
		if logitsOut == "" {
			return fmt.Errorf("--out is required")
		}
		path, _, err := runModelPath(cmd, args[0])
		if err != nil {
			return err
		}
		opts, err := loadOptions(cmd, path, 0)
		if err != nil {
			return err
		}
		opts.Threads = logitsThreads
		m, err := inference.Load(path, opts)
		if err != nil {
			return err
		}
		defer m.Close()
		if w := m.Info().Warning; w != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
		}
		if len(logitsImages) > 0 {
			logits, err := logitsWithImages(cmd.Context(), m, path)
			if err != nil {
				return err
			}
			return logitsWrite(logitsOut, logits)
		}
		var ids []int32
		if withPrompt {
			if ids, err = m.Tokenizer().Encode(logitsPrompt, true, false); err != nil {
				return err
			}
		} else if ids, err = logitsParseIDs(logitsIDs); err != nil {
			return err
		}
		s, err := m.NewSession(inference.SessionOptions{BatchSize: max(len(ids), 1)})
		if err != nil {
			return err
		}
		defer s.Close()
		logits, err := s.Logits(context.Background(), ids)
		if err != nil {
			return err
		}
		return logitsWrite(logitsOut, logits)
	},
}

// logitsParseIDs parses "1,2,3".
func logitsParseIDs(s string) ([]int32, error) {
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--ids: %q is not a token id", f)
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

func logitsWrite(path string, logits []float32) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fh)
	var b [4]byte
	for _, v := range logits {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func init() {
	logitsCmd.Flags().StringVar(&logitsPrompt, "prompt", "", "text to tokenize (BOS added as the vocabulary says)")
	logitsCmd.Flags().StringVar(&logitsIDs, "ids", "", "comma-separated token ids, used exactly")
	logitsCmd.Flags().StringVar(&logitsOut, "out", "", "output file (float32 little-endian, [n_pos][n_vocab])")
	logitsCmd.Flags().IntVarP(&logitsThreads, "threads", "t", 0, "CPU threads (0 = all cores)")
	rootCmd.AddCommand(logitsCmd)
}
