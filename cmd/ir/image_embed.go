package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/inference/compute"
	"inferenceruntime/inference/vision"
)

var (
	imageEmbedOut     string
	imageEmbedThreads int
)

var imageEmbedCmd = &cobra.Command{
	Use:   "image-embed MMPROJ IMAGE --out FILE",
	Short: "Run an image through a vision projector and write its vectors (float32 [tokens][n_embd])",
	Long: `image-embed decodes IMAGE (PNG, JPEG, GIF, WebP), preprocesses it as
llama.cpp does and runs the projector file MMPROJ on the CPU. FILE gets the
vectors as little-endian float32, [tokens][n_embd] row-major: what
llama.cpp's mtmd hands the text model, for comparing the two.`,
	Args: cobra.ExactArgs(2),
	RunE: func(cmd *cobra.Command, args []string) error {
		if imageEmbedOut == "" {
			return fmt.Errorf("--out FILE is required")
		}
		data, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		img, err := vision.DecodeImage(data)
		if err != nil {
			return err
		}
		dev, err := compute.FirstDevice("cpu")
		if err != nil {
			return err
		}
		p, err := vision.Open(args[0], dev)
		if err != nil {
			return err
		}
		defer p.Close()
		start := time.Now()
		emb, err := p.Encode(img, compute.Options{Threads: imageEmbedThreads})
		if err != nil {
			return err
		}
		took := time.Since(start)
		if err := writeFloats(imageEmbedOut, emb.Data); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %d tokens of %d values in %.1f ms\n", imageEmbedOut, emb.Tokens, emb.Dim,
			float64(took.Microseconds())/1000)
		return nil
	},
}

// writeFloats writes v as little-endian float32, synced before the rename
// so that a reader never sees half a file.
func writeFloats(path string, v []float32) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = binary.Write(w, binary.LittleEndian, v)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

func init() {
	imageEmbedCmd.Flags().StringVar(&imageEmbedOut, "out", "", "output FILE (float32 [tokens][n_embd])")
	imageEmbedCmd.Flags().IntVar(&imageEmbedThreads, "threads", 0, "CPU threads (default: all cores)")
	rootCmd.AddCommand(imageEmbedCmd)
}
