// Markdown for model output: GitHub-flavoured Markdown rendered by marked,
// code highlighted by highlight.js, and the result sanitised by DOMPurify.
//
// Model output is untrusted text. Nothing in it may run or load anything:
// raw HTML is shown as text, images become links (never fetched), and
// links survive only when they are absolute http(s) URLs (the app opens
// them in the system browser). DOMPurify then enforces the same rules on
// the final HTML with an allow-list, as a second line of defence.
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { Marked, type Tokens } from 'marked';

const languages = { bash, c, cpp, css, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(languages)) hljs.registerLanguage(name, lang);
const aliases: Record<string, string> = {
  sh: 'bash', shell: 'bash', zsh: 'bash', js: 'javascript', jsx: 'javascript', ts: 'typescript', tsx: 'typescript',
  py: 'python', golang: 'go', rs: 'rust', html: 'xml', svg: 'xml', yml: 'yaml', md: 'markdown', 'c++': 'cpp', h: 'c',
};

/** True for an absolute http or https URL: the only links that survive. */
export function isSafeLink(href: string): boolean {
  return /^https?:\/\/[^\s]/i.test(href.trim());
}

export function escapeHTML(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function highlight(code: string, lang: string): string {
  const name = aliases[lang] ?? lang;
  if (name && hljs.getLanguage(name)) {
    return hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
  }
  return escapeHTML(code);
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    // Raw HTML in the text is shown as text, never interpreted.
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHTML(text);
    },
    code({ text, lang }: Tokens.Code): string {
      const name = (lang ?? '').trim().split(/\s+/)[0].toLowerCase().replace(/[^a-z0-9+#._-]/g, '');
      const label = name ? `<span class="code-lang">${escapeHTML(name)}</span>` : '<span class="code-lang"></span>';
      return (
        `<div class="code-block"><div class="code-head">${label}` +
        `<button type="button" class="copy-code" title="Copy code">Copy</button></div>` +
        `<pre><code class="hljs${name ? ' language-' + escapeHTML(name) : ''}">${highlight(text, name)}</code></pre></div>`
      );
    },
    link(this: { parser: { parseInline(t: Tokens.Generic[]): string } }, { href, title, tokens }: Tokens.Link): string {
      const inner = this.parser.parseInline(tokens);
      if (!isSafeLink(href)) return inner;
      const t = title ? ` title="${escapeHTML(title)}"` : '';
      return `<a href="${escapeHTML(href)}"${t} class="external">${inner}</a>`;
    },
    // Images are never loaded: a remote image is a tracking pixel or worse.
    image({ href, text }: Tokens.Image): string {
      const label = `[image${text ? ': ' + escapeHTML(text) : ''}]`;
      if (!isSafeLink(href)) return `<span class="image-ref">${label}</span>`;
      return `<a href="${escapeHTML(href)}" class="external image-ref">${label}</a>`;
    },
  },
});

const allowedTags = [
  'a', 'blockquote', 'br', 'button', 'code', 'del', 'div', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'li',
  'ol', 'p', 'pre', 's', 'span', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul',
];

let purifier: ReturnType<typeof DOMPurify> | null = null;

function sanitizer(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier;
  purifier = DOMPurify(window);
  purifier.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A') {
      const href = node.getAttribute('href') ?? '';
      if (!isSafeLink(href)) node.removeAttribute('href');
      node.setAttribute('rel', 'noopener noreferrer');
    }
    if (node.tagName === 'BUTTON' && !node.classList.contains('copy-code')) node.remove();
  });
  return purifier;
}

/** Sanitises HTML with the allow-list: no scripts, handlers, styles, frames, images or non-http(s) URLs. */
export function sanitize(html: string): string {
  return sanitizer().sanitize(html, {
    ALLOWED_TAGS: allowedTags,
    ALLOWED_ATTR: ['href', 'title', 'class', 'type', 'align', 'start', 'rel'],
    ALLOWED_URI_REGEXP: /^https?:\/\//i,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    RETURN_TRUSTED_TYPE: false,
  }) as string;
}

/** Renders untrusted Markdown to safe HTML. */
export function renderMarkdown(text: string): string {
  return sanitize(marked.parse(text) as string);
}
