package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"inferenceruntime/backend/config"
	"inferenceruntime/backend/events"
	"inferenceruntime/backend/library"
	"inferenceruntime/backend/service"
	"inferenceruntime/inference/gguf"
)

var (
	infoTensors  bool
	infoMetadata bool
	infoJSON     bool
)

var infoCmd = &cobra.Command{
	Use:   "info FILE.gguf | MODEL",
	Short: "Show a GGUF model's architecture, size, quantization, context and vocabulary",
	Long: `Show a GGUF model's architecture, size, quantization, context and vocabulary.

The argument is a GGUF file, or an installed model's name, alias or id (an
existing file of that name wins). For an installed model the library record
comes first: names, digest, location, when it was added and last used.`,
	Args: cobra.ExactArgs(1),
	RunE: func(cmd *cobra.Command, args []string) error {
		path, rec, err := infoLocate(cmd, args[0])
		if err != nil {
			return err
		}
		f, err := gguf.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		s := gguf.Summarize(f)
		out := cmd.OutOrStdout()
		if infoJSON {
			return infoWriteJSON(out, s, f, rec)
		}
		if err := infoWriteText(out, path, s, rec); err != nil {
			return err
		}
		if infoMetadata {
			if err := infoWriteMetadata(out, f); err != nil {
				return err
			}
		}
		if infoTensors {
			return infoWriteTensors(out, f)
		}
		return nil
	},
}

func init() {
	infoCmd.Flags().BoolVar(&infoTensors, "tensors", false, "also list every tensor (name, type, shape, offset, size)")
	infoCmd.Flags().BoolVar(&infoMetadata, "metadata", false, "also list every metadata key with its type and value (long arrays abridged)")
	infoCmd.Flags().BoolVar(&infoJSON, "json", false, "print as JSON (--tensors and --metadata add their tables)")
	rootCmd.AddCommand(infoCmd)
}

// infoLocate turns the argument into the file to read: an existing path as
// it is, else the file of the installed model it names (rec is then its
// library record). A data directory without a database has no models, and
// is not created just to find that out.
func infoLocate(cmd *cobra.Command, ref string) (path string, rec *library.Model, err error) {
	if _, err := os.Stat(ref); err == nil {
		return ref, nil, nil
	}
	notFound := fmt.Errorf("%s: no such file, and no installed model answers to that name", ref)
	dir, err := config.DataDir(homeFlag)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(config.DatabasePath(dir)); errors.Is(err, os.ErrNotExist) {
		return "", nil, notFound
	}
	err = listWithService(cmd, nil, func(svc *service.Service) error {
		rec, err = svc.ResolveInstalledModel(cmd.Context(), ref)
		return err
	})
	switch {
	case errors.Is(err, library.ErrNotFound) && !errors.Is(err, library.ErrAmbiguous):
		return "", nil, notFound
	case err != nil:
		return "", nil, err
	}
	return rec.Path, rec, nil
}

// infoTensor is one row of the tensor table in JSON.
type infoTensor struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Shape  []uint64 `json:"shape"`
	Offset int64    `json:"offset"` // absolute, in the file
	Size   int64    `json:"size"`
}

// infoKV is one metadata pair in JSON. Arrays longer than infoMaxArray are
// given as their length only, so a vocabulary does not flood the output.
type infoKV struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Length int    `json:"length,omitempty"`
	Value  any    `json:"value,omitempty"`
}

const infoMaxArray = 16

func infoWriteJSON(out io.Writer, s gguf.Summary, f *gguf.File, rec *library.Model) error {
	doc := struct {
		gguf.Summary
		// "supported" and, when false, "reason": whether this build runs it.
		library.Support
		Library  *library.Model `json:"library,omitempty"` // for an installed model
		Metadata []infoKV       `json:"metadata,omitempty"`
		Tensors  []infoTensor   `json:"tensors,omitempty"`
	}{Summary: s, Support: library.ArchSupport(s.Architecture, s.Parameters), Library: rec}
	if infoMetadata {
		for _, kv := range f.KV {
			row := infoKV{Key: kv.Key, Type: kv.Value.Type.String()}
			if kv.Value.Type == gguf.Array {
				row.Type += " of " + kv.Value.ElemType().String()
				row.Length = kv.Value.Len()
			}
			if kv.Value.Type != gguf.Array || row.Length <= infoMaxArray {
				row.Value = infoJSONSafe(kv.Value.Any())
			}
			doc.Metadata = append(doc.Metadata, row)
		}
	}
	if infoTensors {
		doc.Tensors = make([]infoTensor, 0, len(f.Tensors))
		for _, t := range f.Tensors {
			doc.Tensors = append(doc.Tensors, infoTensor{t.Name, t.Type.String(), t.Dims, f.DataOffset + int64(t.Offset), t.Size})
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// infoWriteText writes the summary, after the library record when rec is
// not nil.
func infoWriteText(out io.Writer, path string, s gguf.Summary, rec *library.Model) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, events.Printable(v)) }
	orNone := func(v string) string {
		if v == "" {
			return "-"
		}
		return v
	}
	num := func(n uint64) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	if rec != nil {
		infoWriteRecord(row, rec)
	}
	row("file", path)
	row("file size", fmt.Sprintf("%s (%d bytes)", infoBytes(s.FileSize), s.FileSize))
	row("gguf version", fmt.Sprint(s.Version))
	row("architecture", orNone(s.Architecture))
	runs := "yes"
	if sup := library.ArchSupport(s.Architecture, s.Parameters); !sup.Supported {
		runs = "no — " + sup.Reason
	}
	row("runs here", runs)
	row("name", orNone(s.Name))
	params := gguf.FormatCount(s.Parameters)
	if s.Parameters >= 1000 {
		params += fmt.Sprintf(" (%d)", s.Parameters)
	}
	row("parameters", params)
	if s.FileTypeID >= 0 {
		row("file type", fmt.Sprintf("%s (%d)", s.FileType, s.FileTypeID))
	} else {
		row("file type", "-")
	}
	quant := make([]string, 0, len(s.Quant))
	for _, q := range s.Quant {
		quant = append(quant, fmt.Sprintf("%s: %d tensors, %s", q.Type, q.Tensors, infoBytes(q.Bytes)))
	}
	row("quantization", orNone(strings.Join(quant, "; ")))
	row("context length", num(s.ContextLength))
	row("embedding length", num(s.EmbeddingLength))
	row("layers", num(s.Layers))
	heads := num(s.Heads)
	if s.HeadsKV != 0 && s.HeadsKV != s.Heads {
		heads += fmt.Sprintf(" (%d key/value)", s.HeadsKV)
	}
	row("attention heads", heads)
	vocab := "-"
	if s.VocabModel != "" || s.VocabSize > 0 {
		vocab = fmt.Sprintf("%s, %d tokens", orNone(s.VocabModel), s.VocabSize)
	}
	row("vocabulary", vocab)
	tmpl := "no"
	if s.ChatTemplate {
		tmpl = fmt.Sprintf("yes (%d bytes)", s.ChatTemplateLength)
	}
	row("chat template", tmpl)
	row("tensors", fmt.Sprint(s.TensorCount))
	return tw.Flush()
}

// infoWriteRecord writes an installed model's library record as rows.
func infoWriteRecord(row func(k, v string), m *library.Model) {
	when := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	}
	row("model", m.Name)
	if len(m.Aliases) > 0 {
		row("aliases", strings.Join(m.Aliases, ", "))
	}
	row("id", m.ID)
	digest := "- (not hashed: used in place)"
	if m.Digest != "" {
		digest = "sha256:" + m.Digest
	}
	row("digest", digest)
	location := "model store"
	if m.Location == library.InPlace {
		location = "in place"
	}
	row("location", location)
	vision := "no (text only; pair a projector with ir import MODEL --mmproj FILE)"
	if m.Projector != "" {
		vision = "yes — projector " + m.Projector
	}
	row("vision", vision)
	if m.Source != "" {
		row("source", m.Source)
	}
	row("added", when(m.AddedAt))
	row("last used", when(m.LastUsedAt))
}

// infoJSONSafe replaces the floats JSON cannot hold (NaN, ±Inf) by strings.
func infoJSONSafe(v any) any {
	switch x := v.(type) {
	case float32:
		return infoJSONSafe(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
	case []any:
		for i := range x {
			x[i] = infoJSONSafe(x[i])
		}
	}
	return v
}

func infoWriteMetadata(out io.Writer, f *gguf.File) error {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "key\ttype\tvalue")
	for _, kv := range f.KV {
		typ := kv.Value.Type.String()
		if kv.Value.Type == gguf.Array {
			typ += " of " + kv.Value.ElemType().String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", events.Printable(kv.Key), typ, events.Printable(kv.Value.String()))
	}
	return tw.Flush()
}

func infoWriteTensors(out io.Writer, f *gguf.File) error {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "name\ttype\tshape\toffset\tsize")
	for _, t := range f.Tensors {
		dims := make([]string, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", events.Printable(t.Name), t.Type, strings.Join(dims, " x "), f.DataOffset+int64(t.Offset), t.Size)
	}
	return tw.Flush()
}

// infoBytes writes a byte count in binary units.
func infoBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v, suffix = v/unit, s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.2f %s", v, suffix)
}
