package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// renderPiece is the text of one token with special tokens shown: "▁" turned
// back into spaces (SPM, WordPiece), GPT-2 byte stand-ins turned back into
// bytes (BPE), byte tokens as their raw byte. Unused and undefined tokens
// render as nothing.
func (t *Tokenizer) renderPiece(id int32) string {
	a, s := t.attrs[id], t.tokens[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return s
	case a&attrNormal != 0:
		if t.kind == kindBPE {
			return bpeDecodeText(s)
		}
		return strings.ReplaceAll(s, spmSpace, " ")
	case a&attrByte != 0:
		if b, ok := parseByteToken(s); ok {
			return string([]byte{b})
		}
	}
	return ""
}

// bpeDecodeText maps GPT-2 byte stand-ins back to bytes. A code point with
// no byte behind it is written as llama.cpp does, "[UNK_BYTE_0x..]".
func bpeDecodeText(s string) string {
	var b []byte
	for _, c := range decodeCodepoints(s) {
		if v, ok := runeToByte[c]; ok {
			b = append(b, v)
			continue
		}
		enc := appendCodepoint(nil, c)
		b = append(b, "[UNK_BYTE_0x"...)
		for _, x := range enc {
			b = append(b, "0123456789abcdef"[x>>4], "0123456789abcdef"[x&15])
		}
		b = append(b, s...)
		b = append(b, ']')
	}
	return string(b)
}

// Piece returns the text of one token, special tokens included, as bytes
// (it may be part of a UTF-8 character). Out-of-range ids give "".
func (t *Tokenizer) Piece(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.pieces[id]
}

// DecodeOptions tunes DecodeWith.
type DecodeOptions struct {
	// RemoveSpecial drops a leading BOS and a trailing EOS that Encode
	// would have added.
	RemoveSpecial bool
	// HideSpecial drops control and unknown tokens from the text.
	HideSpecial bool
}

// Decode turns ids back into text the way llama.cpp's detokenizer does with
// special tokens rendered: pieces are joined, the space SPM prepends is
// removed from the first piece, and vocabularies that ask for it get
// tokenization spaces cleaned (" ," -> ","). The result is bytes and may be
// invalid UTF-8 if the ids split a character; ids out of range are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int32, o DecodeOptions) string {
	removeSpace := t.addSpacePrefix
	if o.RemoveSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if o.RemoveSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var b []byte
	for _, id := range ids {
		if !t.valid(id) {
			continue
		}
		p := t.pieces[id]
		if o.HideSpecial && t.attrs[id]&(attrUnknown|attrControl) != 0 {
			p = "" // still counts as the first piece, as in llama.cpp
		}
		if removeSpace && strings.HasPrefix(p, " ") {
			p = p[1:]
		}
		removeSpace = false
		b = append(b, p...)
	}
	if t.cleanSpaces {
		b = cleanSpaces(b)
	}
	return string(b)
}

// cleanSpaces undoes the spaces a tokenizer puts around punctuation, in the
// three passes of Hugging Face's clean_up_tokenization (as llama.cpp runs
// them): " ?", " !", " .", " ," lose the space; " ' " loses both spaces; and
// " 's", " 'm", " 're", " 've" lose the space.
func cleanSpaces(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	// Each pass compacts in place; it looks back at the input as it was
	// before the pass, never at what it has already written.
	pass := func(keep func(in []byte, i int, skipNext *bool) (dropPrev bool)) {
		in := append([]byte(nil), b...)
		out := b[:1]
		for i := 1; i < len(in); i++ {
			skip := false
			if keep(in, i, &skip) {
				out = out[:len(out)-1]
			}
			out = append(out, in[i])
			if skip {
				in[i+1] = 0
				i++
			}
		}
		b = out
	}
	pass(func(in []byte, i int, _ *bool) bool {
		x := in[i]
		return in[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')
	})
	pass(func(in []byte, i int, skip *bool) bool {
		if in[i] == '\'' && i+1 < len(in) && in[i-1] == ' ' && in[i+1] == ' ' {
			*skip = true
			return true
		}
		return false
	})
	pass(func(in []byte, i int, _ *bool) bool {
		if in[i-1] != ' ' || in[i] != '\'' || i+1 >= len(in) {
			return false
		}
		x1 := in[i+1]
		if x1 == 's' || x1 == 'm' {
			return true
		}
		if i+2 < len(in) {
			x2 := in[i+2]
			return (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')
		}
		return false
	})
	return b
}

// StreamDecoder turns a stream of generated ids into text without ever
// splitting a UTF-8 character: bytes that could still become a character
// wait for the next token; bytes that never can are written as U+FFFD.
type StreamDecoder struct {
	t           *Tokenizer
	buf         []byte
	showSpecial bool
}

// NewStreamDecoder returns a decoder for generated text. Control tokens
// (end-of-turn markers and the like) are not written; see ShowSpecial.
// Unlike Decode it neither strips a leading space nor cleans spaces, since
// generated text continues a prompt.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// ShowSpecial makes the decoder write control tokens as their text.
func (d *StreamDecoder) ShowSpecial(on bool) { d.showSpecial = on }

// Add appends a token and returns the text that is now complete.
func (d *StreamDecoder) Add(id int32) string {
	t := d.t
	if !t.valid(id) {
		return d.drain(false)
	}
	if !d.showSpecial && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return d.drain(false)
	}
	d.buf = append(d.buf, t.pieces[id]...)
	return d.drain(false)
}

// Flush returns what is left, with an unfinished character as U+FFFD.
func (d *StreamDecoder) Flush() string { return d.drain(true) }

func (d *StreamDecoder) drain(final bool) string {
	var out strings.Builder
	i := 0
	for i < len(d.buf) {
		r, n := utf8.DecodeRune(d.buf[i:])
		if r == utf8.RuneError && n <= 1 {
			if !final && !utf8.FullRune(d.buf[i:]) {
				break // a prefix of a character: wait for more bytes
			}
			out.WriteRune(utf8.RuneError)
			i++
			continue
		}
		out.Write(d.buf[i : i+n])
		i += n
	}
	d.buf = append(d.buf[:0], d.buf[i:]...)
	return out.String()
}
