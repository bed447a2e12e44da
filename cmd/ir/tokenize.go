package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"inferenceruntime/inference/gguf"
	"inferenceruntime/inference/tokenizer"
)

var (
	tokenizeModel   string
	tokenizePieces  bool
	tokenizeNoBOS   bool
	tokenizeSpecial bool
)

var tokenizeCmd = &cobra.Command{
	Use:   "tokenize --model FILE.gguf TEXT",
	Short: "Show the token ids a model's vocabulary gives a text (TEXT \"-\" reads stdin)",
	Args:  cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		if tokenizeModel == "" {
			return fmt.Errorf("tokenize: --model is required")
		}
		text := args[0]
		if text == "-" {
			b, err := io.ReadAll(cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("tokenize: reading stdin: %w", err)
			}
			text = string(b)
		}
		tok, err := tokenizeLoad(tokenizeModel)
		if err != nil {
			return err
		}
		ids, err := tok.Encode(text, !tokenizeNoBOS, tokenizeSpecial)
		if err != nil {
			return fmt.Errorf("tokenize: %w", err)
		}
		return tokenizePrint(cmd.OutOrStdout(), tok, ids, tokenizePieces)
	},
}

func init() {
	tokenizeCmd.Flags().StringVar(&tokenizeModel, "model", "", "GGUF file whose vocabulary to use")
	tokenizeCmd.Flags().BoolVar(&tokenizePieces, "pieces", false, "print one token per line: id and its text (quoted)")
	tokenizeCmd.Flags().BoolVar(&tokenizeNoBOS, "no-bos", false, "do not add the BOS/EOS tokens the vocabulary asks for")
	tokenizeCmd.Flags().BoolVar(&tokenizeSpecial, "special", false, "turn control tokens written in the text (e.g. <|im_start|>) into their ids")
	rootCmd.AddCommand(tokenizeCmd)
}

// tokenizeLoad opens path and builds its tokenizer.
func tokenizeLoad(path string) (*tokenizer.Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}

func tokenizePrint(out io.Writer, tok *tokenizer.Tokenizer, ids []int32, pieces bool) error {
	var b strings.Builder
	if pieces {
		for _, id := range ids {
			fmt.Fprintf(&b, "%d\t%s\n", id, strconv.Quote(tok.Piece(id)))
		}
	} else {
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(int(id)))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(out, b.String())
	return err
}
